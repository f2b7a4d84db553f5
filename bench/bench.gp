# The plot of `make bench` (scripts/bench-report runs it):
#   gnuplot -e "dir='build/bench'; ngp=8; nlat=4" bench/bench.gp
# Top: bulk goodput in % of the line rate (N/10 B/s; unthrottled: the raw
# pty copy) per link and stack/direction. Bottom: 64-byte request/response
# median latency per link and stack (log scale).
set terminal pngcairo size 1400,900 noenhanced font ",10"
set output dir.'/bench.png'
set multiplot layout 2,1 title "AF_QUECTEL vs PPP over the same link model (qtsim --baud / linkrelay)"
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set xtics nomirror
set title "Bulk goodput, % of line rate (link: rate/modem latency)"
set ylabel "% of line rate"
set yrange [0:160]		# far outliers are clipped: see report.txt
plot for [i=2:ngp+1] dir.'/goodput.dat' using i:xtic(1) title columnheader(i)
set title "64-byte request/response, median latency"
set ylabel "ms"
set logscale y
set yrange [*:*]
plot for [i=2:nlat+1] dir.'/latency.dat' using i:xtic(1) title columnheader(i)
unset multiplot
