/* csv.h - the library's one RFC 4180 field splitter (internal; implemented in layer_file.c). */
#ifndef IOB_MODEL_CSV_H
#define IOB_MODEL_CSV_H

/* Splits one CSV record (a line without its newline) in place at the commas outside quotes,
 * removing the quotes and undoubling "" inside them. Stores up to max_fields pointers into
 * fields and returns the number of fields, max_fields + 1 when there are more, or -1 on an
 * unterminated quote. */
int iob_csv_split(char *line, char **fields, int max_fields);

#endif
