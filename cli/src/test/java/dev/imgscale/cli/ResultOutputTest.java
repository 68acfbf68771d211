package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imgscale.daemon.client.JobProgress;
import dev.imgscale.daemon.wire.Json;
import dev.imgscale.daemon.wire.ResultRecord;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How `results` prints stored records (csv straight from the record, jsonl as stored) and how `status` words a job's progress. */
class ResultOutputTest {
    static final ResultRecord OK = new ResultRecord(1, "J", "a, \"b\".jpg", "macaw", 0.82345f,
            List.of(new ResultRecord.Label("macaw", 0.82345f, 88)), null, null, "m", "w", 2, 5, 3L, "s3://p/a.jpg");
    static final ResultRecord BAD = new ResultRecord(1, "J", "c.jpg", null, null, null, "CORRUPT", "cut short", "m", "w", 1, 5, 3L);

    static String print(OutputFormat format, ResultRecord... records) {
        StringWriter s = new StringWriter();
        ResultWriter w = new ResultWriter(new PrintWriter(s), format).buffered();
        for (ResultRecord r : records) {
            w.write(r);
        }
        w.finish();
        return s.toString();
    }

    @Test
    void should_print_csv_rows_from_records_exactly_as_from_rows() {
        String expected = "name,label,score,error" + System.lineSeparator()
                + ResultWriter.csv(ResultWriter.Row.of(OK)) + System.lineSeparator()
                + ResultWriter.csv(ResultWriter.Row.of(BAD)) + System.lineSeparator();
        assertEquals(expected, print(OutputFormat.csv, OK, BAD));
        assertEquals("\"a, \"\"b\"\".jpg\",macaw,0.8235,", ResultWriter.csv(ResultWriter.Row.of(OK)));
    }

    @Test
    void should_print_each_stored_record_as_it_is_in_jsonl() {
        String out = print(OutputFormat.jsonl, OK, BAD);
        List<String> lines = out.lines().toList();
        assertEquals(2, lines.size());
        assertEquals(OK, Json.read(lines.get(0), ResultRecord.class));
        assertEquals(BAD, Json.read(lines.get(1), ResultRecord.class));
    }

    @Test
    void should_say_uploading_for_an_open_job_and_about_for_a_count_that_may_include_a_redelivery() {
        assertEquals(String.format("%-24s %5d/%-5d done %5d failed  complete", "J", 3, 3, 1), StatusCommand.jobLine(new JobProgress("J", 3, 3, 1)));
        assertEquals(String.format("%-24s %5d/?     done %5d failed  uploading", "J", 2, 0),
                StatusCommand.jobLine(new JobProgress("J", -1, 2, 0)));
        assertEquals(String.format("%-24s about %5d/%-5d done %5d failed  (run `imgscale results` for exact counts)", "J", 3, 3, 0),
                StatusCommand.jobLine(new JobProgress("J", 3, 3, 0, false)));
        assertEquals(String.format("%-24s about %5d/%-5d done %5d failed", "J", 2, 3, 0),
                StatusCommand.jobLine(new JobProgress("J", 3, 2, 0, false)));
    }
}
