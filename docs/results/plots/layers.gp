# layers.gp - per layer, the SM<->L2 traffic (reads + writes, bytes, log scale) of: the lower
# bound for all SMs together, our best config as predicted and as measured, and cuDNN's best
# FP32 algorithm as measured.
# Run by `iobound plot` (plots/plot.c) after layers.params.gp, which defines:
#   datadir     folder of layers.dat: columns "layer", bound, predicted, measured, cuDNN
#               measured ("?" = not known)
#   have_meas   1 if the file has measurements (otherwise only the bound and the prediction)
#   ylo, yhi    y range; s_text: S, the fast memory of one SM; best_text: how "best" was chosen
#   machine, width, height
set datafile missing "?"
f = datadir."/layers.dat"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "gray20"
set logscale y
set yrange [ylo:yhi]
set format y "10^{%L}"
set grid ytics lc rgb "gray80"
set xtics rotate by -50 scale 0 noenhanced font ",8"
set ylabel "SM <-> L2 traffic, reads + writes (bytes)"
set key outside top center horizontal noenhanced font ",10"
set title "Data movement per layer on ".machine.": lower bound vs our best config (".best_text.")".(have_meas ? " vs cuDNN" : "") noenhanced
if (have_meas) {
    plot f using 2:xtic(1) lc rgb "#444444" title "lower bound, all SMs (S = ".s_text." per SM)", \
         '' using 3 lc rgb "#5aa0e6" title "our best config, predicted", \
         '' using 4 lc rgb "#1f5fa8" title "our best config, measured", \
         '' using 5 lc rgb "#e08a2c" title "cuDNN best FP32 algorithm, measured"
} else {
    set label 1 "no measurements in this file: bound and prediction only" at graph 0.5, graph 0.95 center noenhanced
    plot f using 2:xtic(1) lc rgb "#444444" title "lower bound, all SMs (S = ".s_text." per SM)", \
         '' using 3 lc rgb "#5aa0e6" title "our best config, predicted"
}
