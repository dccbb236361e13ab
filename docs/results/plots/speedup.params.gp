datadir = 'docs/results/plots'
machine = "h100-sxm"
have_tf32 = 1
ymax = 6.875
