datadir = 'docs/results/plots'
machine = "h100-sxm"
have_meas = 1
ylo = 1e+06
yhi = 1e+10
s_text = "484 KiB"
best_text = "least measured time"
