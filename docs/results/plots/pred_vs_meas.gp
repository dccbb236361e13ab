# pred_vs_meas.gp - predicted and simulated traffic against the hardware counters, one panel per
# memory level, log-log, with the line measured = predicted and a +-10% band around it.
# Run by `iobound plot` (plots/plot.c), which sets the terminal and output with -e and loads
# pred_vs_meas.params.gp first, defining:
#   datadir        folder of pred_vs_meas_<level>.dat: columns predicted, measured, simulated
#                  ("?" = not known), algorithm number (its colour: direct 1, winograd 2,
#                  im2col 3, im2win 4, gemm 5)
#   levels         the levels that have data, e.g. "l2_read_bytes dram_read_bytes time_ms"
#   algos, algo_ids  the algorithms present and their numbers, e.g. "direct winograd", "1 2"
#   have_sim       1 if some point has a simulated value
#   lo_<level>, hi_<level>   axis range of each panel
#   machine, width, height
set datafile missing "?"
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set grid lc rgb "gray80"
set key top left Left reverse box opaque noenhanced font ",9" samplen 2 spacing 1.1
set tics font ",9"

title_of(l) = l eq "l2_read_bytes" ? "SM <- L2 reads (global loads, SM side)" : \
              l eq "l2_read_slice_bytes" ? "SM <- L2 reads as the L2 slices count them" : \
              l eq "l2_write_bytes" ? "SM -> L2 writes (global stores)" : \
              l eq "dram_read_bytes" ? "DRAM reads (L2 misses)" : \
              l eq "dram_write_bytes" ? "DRAM writes (L2 write-backs)" : \
              l eq "smem_bytes" ? "shared memory <-> registers" : \
              l eq "ffma" ? "FFMA instructions" : \
              l eq "time_ms" ? "run time" : l
unit_of(l) = l eq "ffma" ? "instructions" : l eq "time_ms" ? "ms" : "bytes"

n = words(levels)
cols = n <= 3 ? n : (n <= 4 ? 2 : (n <= 6 ? 3 : 4))
rows = int((n + cols - 1) / cols)
what = have_sim ? "filled: predicted, open: simulated" : "predicted; no simulations in this file"
set multiplot layout rows, cols title \
  "Model against hardware counters on ".machine." (each point: one kernel config; ".what.")" \
  font ",12"
do for [i = 1:n] {
    l = word(levels, i)
    f = datadir."/pred_vs_meas_".l.".dat"
    lo = value("lo_".l)
    hi = value("hi_".l)
    set xrange [lo:hi]
    set yrange [lo:hi]
    set title title_of(l) font ",11"
    set xlabel "predicted or simulated (".unit_of(l).")" font ",10"
    set ylabel "measured (".unit_of(l).")" font ",10"
    if (have_sim) {
        plot x lc rgb "black" lw 1.5 title "measured = predicted", \
             1.1*x dt 2 lc rgb "gray40" title "10% off", \
             0.9*x dt 2 lc rgb "gray40" notitle, \
             f using 1:2:4 with points pt 7 ps 0.9 lc variable notitle, \
             f using 3:2:4 with points pt 6 ps 1.3 lc variable notitle, \
             for [a = 1:words(algos)] NaN with points pt 7 lc int(word(algo_ids, a)) title word(algos, a), \
             NaN with points pt 6 lc rgb "black" title "simulated (open)"
    } else {
        plot x lc rgb "black" lw 1.5 title "measured = predicted", \
             1.1*x dt 2 lc rgb "gray40" title "10% off", \
             0.9*x dt 2 lc rgb "gray40" notitle, \
             f using 1:2:4 with points pt 7 ps 0.9 lc variable notitle, \
             for [a = 1:words(algos)] NaN with points pt 7 lc int(word(algo_ids, a)) title word(algos, a)
    }
}
unset multiplot
