# roofline.gp - the roofline of a machine from its measured ceilings (FP32 rate, DRAM bandwidth)
# with one point per kernel (our best config per layer and algorithm, and cuDNN's best FP32
# algorithm) at its measured performance, and the most FLOP per SM<->L2 byte that the I/O lower
# bound allows the layer (its FLOPs over the bound's bytes).
# Run by `iobound plot` (plots/plot.c) after roofline.params.gp, which defines:
#   datadir    folder of roofline.dat: columns algorithm number (its colour: direct 1,
#              winograd 2, im2col 3, im2win 4, gemm 5, cuDNN 6), TFLOP/s achieved, FLOP per
#              DRAM byte, FLOP per SM<->L2 byte, FLOP per byte of the lower bound (all measured
#              except the last)
#   algos, algo_ids  the algorithms present and their numbers ("direct cuDNN", "1 6")
#   peak       FP32 ceiling, TFLOP/s; bw: DRAM ceiling, TB/s; ceil_src: where they come from
#   xlo, xhi, ylo, yhi   ranges; machine, width, height
set datafile missing "?"
f = datadir."/roofline.dat"
set logscale xy
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set grid lc rgb "gray80"
# ticks between decades: the ranges often span less than a decade
set xtics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 30, 40, 50, 70, 100, 200, 300, 500, 1000, 2000, 5000)
set xlabel "arithmetic intensity (FLOP per byte moved)"
set ylabel "performance (TFLOP/s)"
set key outside right top Left reverse noenhanced font ",9" spacing 1.2
set samples 2000
roof(x) = bw * x < peak ? bw * x : peak
set title sprintf("Roofline of %s: FP32 %.1f TFLOP/s, DRAM %.2f TB/s (%s)", machine, peak, bw, ceil_src) noenhanced
plot roof(x) lw 2.5 lc rgb "black" title "roofline: min(FP32 rate, DRAM bandwidth x intensity)", \
     f using 4:2:($5 - $4):(0):1 with vectors nohead dt 3 lw 1.2 lc variable notitle, \
     f using 5:2:1 with points pt 1 ps 1.6 lw 1.5 lc variable notitle, \
     f using 3:2:1 with points pt 7 ps 1.1 lc variable notitle, \
     f using 4:2:1 with points pt 6 ps 1.1 lc variable notitle, \
     for [a = 1:words(algos)] NaN with points pt 7 lc int(word(algo_ids, a)) title word(algos, a), \
     NaN with points pt 7 lc rgb "gray30" title "filled: FLOP per DRAM byte (the roofline's x)", \
     NaN with points pt 6 lc rgb "gray30" title "open: FLOP per SM<->L2 byte", \
     NaN with points pt 1 lc rgb "gray30" title "+: most FLOP per SM<->L2 byte the lower bound allows", \
     NaN with lines dt 3 lc rgb "gray30" title "dotted: from open to + (room left to the bound)"
