/* csv.h - splitting one CSV record (RFC 4180 quoting), shared by the layer files
 * (model/layer_file.c), the tuner's records (tune/record.c) and validate's records. Internal, not installed. */
#ifndef IOB_MODEL_CSV_H
#define IOB_MODEL_CSV_H

/* Splits line (one record, no newline) in place into fields[0..]: quotes removed, "" read as ",
 * text after a closing quote dropped. Returns the number of fields, max_fields + 1 when there
 * are more, or -1 on an unterminated quote. */
int iob_csv_split(char *line, char **fields, int max_fields);

#endif
