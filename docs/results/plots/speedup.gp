# speedup.gp - per layer, how much faster our best measured config runs than cuDNN's best
# algorithm: cuDNN's time over ours (above 1: ours is faster), against cuDNN's best FP32
# algorithm (FMA math, the same arithmetic as ours) and, labelled apart, its best TF32 one.
# Run by `iobound plot` (plots/plot.c) after speedup.params.gp, which defines:
#   datadir   folder of speedup.dat: columns "layer", speedup vs FP32, speedup vs TF32 ("?")
#   have_tf32 1 if some layer has a TF32 time; ymax; machine, width, height
set datafile missing "?"
f = datadir."/speedup.dat"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "gray20"
set yrange [0:ymax]
set grid ytics lc rgb "gray80"
set xtics rotate by -50 scale 0 noenhanced font ",8"
set ylabel "speedup = cuDNN time / our time"
set key outside top center horizontal noenhanced font ",10"
set title "Speedup of our best config over cuDNN on ".machine." (median times; above 1: ours is faster)" noenhanced
if (have_tf32) {
    plot f using 2:xtic(1) lc rgb "#1f5fa8" title "vs cuDNN best FP32 algorithm (FMA math)", \
         '' using 3 lc rgb "#c8a2e0" title "vs cuDNN best TF32 algorithm (tensor cores, lower precision)", \
         1 with lines dt 2 lw 1.5 lc rgb "black" title "same time as cuDNN"
} else {
    plot f using 2:xtic(1) lc rgb "#1f5fa8" title "vs cuDNN best FP32 algorithm (FMA math)", \
         1 with lines dt 2 lw 1.5 lc rgb "black" title "same time as cuDNN"
}
