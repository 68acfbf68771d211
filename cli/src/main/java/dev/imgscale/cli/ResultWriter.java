package dev.imgscale.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImageResult;
import dev.imgscale.classifier.Prediction;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Prints image results, one per line, in the chosen format:
 * text ({@code name  label (0.81)}), CSV with the header {@code name,label,score,error}, or JSON Lines.
 */
final class ResultWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintWriter out;
    private final OutputFormat format;
    private boolean headerDone;

    ResultWriter(PrintWriter out, OutputFormat format) {
        this.out = out;
        this.format = format;
    }

    void write(ImageResult r) {
        switch (format) {
            case text -> out.println(text(r));
            case csv -> {
                if (!headerDone) {
                    out.println("name,label,score,error");
                    headerDone = true;
                }
                out.println(csv(r));
            }
            case json -> out.println(json(r));
        }
        out.flush();
    }

    /** Writes the CSV header even when there are no rows, so a consumer always sees the columns. */
    void finish() {
        if (format == OutputFormat.csv && !headerDone) {
            out.println("name,label,score,error");
            headerDone = true;
        }
        out.flush();
    }

    static String text(ImageResult r) {
        if (!r.ok()) {
            return r.name() + "\tERROR " + r.error() + ": " + r.message();
        }
        Prediction best = r.best();
        return r.name() + "\t" + best.label() + " (" + String.format(Locale.ROOT, "%.2f", best.probability()) + ")";
    }

    static String csv(ImageResult r) {
        if (!r.ok()) {
            return csvField(r.name()) + ",,," + r.error();
        }
        Prediction best = r.best();
        return csvField(r.name()) + "," + csvField(best.label()) + ","
                + String.format(Locale.ROOT, "%.4f", best.probability()) + ",";
    }

    static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    static String json(ImageResult r) {
        ObjectNode node = JSON.createObjectNode();
        node.put("name", r.name());
        if (r.ok()) {
            node.put("label", r.best().label());
            node.put("score", r.best().probability());
            ArrayNode top = node.putArray("top");
            for (Prediction p : r.top()) {
                top.addObject().put("label", p.label()).put("score", p.probability()).put("class", p.classIndex());
            }
        } else {
            node.put("error", r.error().name());
            node.put("message", r.message());
        }
        return node.toString();
    }
}
