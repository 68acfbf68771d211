package dev.imgscale.daemon.sim;

import java.util.List;
import java.util.Locale;

/** An SVG timeline of each policy's run: queue depth (visible + in flight) and instances over time. */
public final class TimelineSvg {
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

    private TimelineSvg() {
    }

    public static String render(String title, List<SimulationResult> results) {
        int w = 900;
        int panel = 220;
        int left = 60;
        int top = 40;
        double tMax = 1;
        double qMax = 1;
        double iMax = 1;
        for (SimulationResult r : results) {
            for (double[] p : r.timeline()) {
                tMax = Math.max(tMax, p[0]);
                qMax = Math.max(qMax, p[1]);
                iMax = Math.max(iMax, p[2]);
            }
        }
        int h = top + 2 * panel + 80 + 20 * results.size();
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n", w, h));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"15\">%s</text>%n", left, escape(title)));
        panel(svg, "queue depth (visible + in flight)", left, top, w - left - 20, panel - 30, tMax, qMax, results, 1);
        panel(svg, "instances", left, top + panel, w - left - 20, panel - 30, tMax, iMax, results, 2);
        int y = top + 2 * panel + 10;
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">time (s), 0 to %.0f</text>%n", left, y, tMax));
        for (int i = 0; i < results.size(); i++) {
            SimulationResult r = results.get(i);
            int ly = y + 20 + 20 * i;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>%n",
                    left, ly - 4, left + 30, ly - 4, COLOURS[i % COLOURS.length]));
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s: p95 %.1f s, cost $%.4f, peak %d</text>%n",
                    left + 40, ly, escape(r.policy()), r.p95(), r.cost(), r.peak()));
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static void panel(StringBuilder svg, String label, int x, int y, int w, int h, double tMax, double vMax,
                              List<SimulationResult> results, int column) {
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s (max %.0f)</text>%n", x, y - 5, escape(label), vMax));
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>%n", x, y, w, h));
        for (int i = 0; i < results.size(); i++) {
            StringBuilder points = new StringBuilder();
            for (double[] p : results.get(i).timeline()) {
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x + p[0] / tMax * w, y + h - p[column] / vMax * h));
            }
            svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    COLOURS[i % COLOURS.length], points.toString().strip()));
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
