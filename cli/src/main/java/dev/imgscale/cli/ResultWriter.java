package dev.imgscale.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.imgscale.classifier.ImageResult;
import dev.imgscale.classifier.Prediction;
import dev.imgscale.daemon.wire.ImageNames;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.ResultRecord;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints image results, one per line, in the chosen {@link OutputFormat}. Local results
 * ({@link ImageResult}) and pipeline results ({@link ResultRecord}) print alike.
 */
final class ResultWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One printed result: the best label and the top list, or an error code and message; {@code
     * source} (null for local files and uploads) is the {@code s3://} URL of an image read in place.
     */
    record Row(String name, String label, float score, List<Top> top, String error, String message, String source) {
        record Top(String label, float score, int index) {
        }

        boolean ok() {
            return error == null;
        }

        static Row of(ImageResult r) {
            if (!r.ok()) {
                return new Row(r.name(), null, 0, List.of(), r.error().name(), r.message(), null);
            }
            List<Top> top = new ArrayList<>();
            for (Prediction p : r.top()) {
                top.add(new Top(p.label(), p.probability(), p.classIndex()));
            }
            return new Row(r.name(), r.best().label(), r.best().probability(), top, null, null, null);
        }

        static Row of(ResultRecord r) {
            if (!r.ok()) {
                return new Row(r.name(), null, 0, List.of(), r.error(), r.message(), r.source());
            }
            List<Top> top = new ArrayList<>();
            if (r.top() != null) {
                for (ResultRecord.Label l : r.top()) {
                    top.add(new Top(l.label(), l.score(), l.index()));
                }
            }
            return new Row(r.name(), r.label(), r.score() == null ? 0 : r.score(), top, null, null, r.source());
        }
    }

    private final PrintWriter out;
    private final OutputFormat format;
    private static final int FLUSH_EVERY = 1000;
    private boolean headerDone;
    private int unflushed;
    private boolean flushEachRow = true;

    ResultWriter(PrintWriter out, OutputFormat format) {
        this.out = out;
        this.format = format;
    }

    void write(ImageResult r) {
        write(Row.of(r));
    }

    void write(ResultRecord r) {
        if (format == OutputFormat.csv) {
            // the row's four columns straight from the record: no top list built per row
            synchronized (this) {
                header();
                out.println(r.ok() ? csvField(r.name()) + "," + csvField(r.label()) + ","
                        + String.format(Locale.ROOT, "%.4f", r.score() == null ? 0f : r.score()) + ","
                        : csvField(r.name()) + ",,," + r.error());
                rowWritten();
            }
            return;
        }
        if (format == OutputFormat.jsonl) {
            synchronized (this) {
                out.println(Json.write(r));
                rowWritten();
            }
            return;
        }
        write(Row.of(r));
    }

    synchronized void write(Row r) {
        switch (format) {
            case text -> out.println(text(r));
            case csv -> {
                header();
                out.println(csv(r));
            }
            case json, jsonl -> out.println(json(r)); // a local result has no stored record: its json row
            case course -> out.println(course(r));
        }
        rowWritten();
    }

    /**
     * Rows of a job read in one go: flushed every {@value #FLUSH_EVERY} rows and after each object
     * ({@link #flush()}), not once per row, which for 100,000 rows is as many system calls. Rows
     * that trickle in ({@code --follow}) are flushed one by one.
     */
    ResultWriter buffered() {
        flushEachRow = false;
        return this;
    }

    private void rowWritten() {
        if (flushEachRow || ++unflushed >= FLUSH_EVERY) {
            flush();
        }
    }

    /** Prints what is buffered. */
    synchronized void flush() {
        out.flush();
        unflushed = 0;
    }

    private void header() {
        if (!headerDone) {
            out.println("name,label,score,error");
            headerDone = true;
        }
    }

    /** Writes the CSV header even when there are no rows, so a consumer always sees the columns. */
    synchronized void finish() {
        if (format == OutputFormat.csv) {
            header();
        }
        flush();
    }

    static String text(Row r) {
        if (!r.ok()) {
            return r.name() + "\tERROR " + r.error() + ": " + r.message();
        }
        return r.name() + "\t" + r.label() + " (" + String.format(Locale.ROOT, "%.2f", r.score()) + ")";
    }

    static String course(Row r) {
        return "(" + ImageNames.shortName(r.name()) + ", " + (r.ok() ? r.label() : "ERROR " + r.error()) + ")";
    }

    static String csv(Row r) {
        if (!r.ok()) {
            return csvField(r.name()) + ",,," + r.error();
        }
        return csvField(r.name()) + "," + csvField(r.label()) + "," + String.format(Locale.ROOT, "%.4f", r.score()) + ",";
    }

    static String csvField(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
            return s;
        }
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    static String json(Row r) {
        ObjectNode node = JSON.createObjectNode();
        node.put("name", r.name());
        if (r.source() != null) {
            node.put("source", r.source()); // only images in place: other rows print as before
        }
        if (r.ok()) {
            node.put("label", r.label());
            node.put("score", r.score());
            ArrayNode top = node.putArray("top");
            for (Row.Top p : r.top()) {
                top.addObject().put("label", p.label()).put("score", p.score()).put("class", p.index());
            }
        } else {
            node.put("error", r.error());
            node.put("message", r.message());
        }
        return node.toString();
    }
}
