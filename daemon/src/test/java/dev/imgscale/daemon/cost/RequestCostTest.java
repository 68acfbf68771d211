package dev.imgscale.daemon.cost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestCostTest {
    @Test
    void should_price_each_class_at_us_east_1_list_prices() {
        RequestCounts counts = RequestCounts.builder()
                .add("S3", "PutObject", 1000).add("S3", "GetObject", 1000).add("SQS", "ReceiveMessage", 1_000_000)
                .add("S3", "DeleteObjects", 500).add("EC2", "RunInstances", 3).build();
        RequestCostReport report = new RequestCostReport(counts, RequestPrices.US_EAST_1, 1_000_000);
        assertEquals(0.005 + 0.0004 + 0.40, report.dollars(), 1e-12);
        assertEquals(0.4054, report.dollarsPerMillionImages(), 1e-9);
        assertEquals(503L, report.byClass().get(RequestPrices.PriceClass.FREE));
    }

    @Test
    void should_classify_operations_as_s3_bills_them() {
        assertEquals(RequestPrices.PriceClass.S3_PUT, RequestPrices.classOf("S3", "ListObjectsV2"));
        assertEquals(RequestPrices.PriceClass.S3_PUT, RequestPrices.classOf("S3", "CopyObject"));
        assertEquals(RequestPrices.PriceClass.S3_PUT, RequestPrices.classOf("S3", "UploadPart"));
        assertEquals(RequestPrices.PriceClass.S3_PUT, RequestPrices.classOf("S3", "CompleteMultipartUpload"));
        assertEquals(RequestPrices.PriceClass.S3_GET, RequestPrices.classOf("S3", "HeadObject"));
        assertEquals(RequestPrices.PriceClass.FREE, RequestPrices.classOf("S3", "AbortMultipartUpload"));
        assertEquals(RequestPrices.PriceClass.SQS, RequestPrices.classOf("SQS", "DeleteMessageBatch"));
        assertEquals(RequestPrices.PriceClass.FREE, RequestPrices.classOf("SSM", "GetParameter"));
    }

    @Test
    void should_take_configured_prices_and_refuse_nonsense_in_one_sentence() {
        RequestPrices p = RequestPrices.parse("s3-put=0.0055, sqs=0.5");
        assertEquals(new RequestPrices(0.0055, 0.0004, 0.5), p);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RequestPrices.parse("s3-put=cheap"));
        assertTrue(e.getMessage().contains("s3-put=cheap"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RequestPrices.parse("glacier=1"));
        assertThrows(IllegalArgumentException.class, () -> RequestPrices.parse("sqs=-1"));
    }

    @Test
    void should_print_requests_per_image_in_one_line_and_in_json() {
        RequestCounts counts = RequestCounts.builder().add("S3", "PutObject", 28).add("S3", "GetObject", 43).add("SQS", "SendMessageBatch", 2)
                .build();
        RequestCostReport report = new RequestCostReport(counts, RequestPrices.US_EAST_1, 14);
        assertEquals("requests: 14 images; per image 2.00 S3 PUT-class, 3.07 S3 GET-class, 0.14 SQS; $11.29 per million images at list prices",
                report.oneLine());
        String json = report.toJson();
        assertTrue(json.contains("\"PutObject\":28") && json.contains("\"images\":14") && json.contains("\"dollarsPerMillionImages\":11.28"),
                json);
        assertTrue(report.table().contains("S3:GetObject"), report.table());
    }

    @Test
    void should_round_trip_counts_through_json_and_refuse_other_json() {
        RequestCounts counts = RequestCounts.builder().add("S3", "PutObject", 3).add("SQS", "SendMessageBatch", 1).build();
        assertEquals(counts, RequestCounts.fromJson(counts.toJson()));
        assertThrows(IllegalArgumentException.class, () -> RequestCounts.fromJson("{\"v\":2,\"requests\":{}}"));
        assertThrows(IllegalArgumentException.class, () -> RequestCounts.fromJson("{\"v\":1,\"requests\":{\"S3\":{\"PutObject\":-1}}}"));
        assertThrows(IllegalArgumentException.class, () -> RequestCounts.fromJson("not json"));
    }

    @Test
    void should_count_from_many_threads_without_losing_one() throws Exception {
        RequestLedger ledger = RequestLedger.standalone();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 10_000; i++) {
                        ledger.record("S3", i % 2 == 0 ? "GetObject" : "PutObject");
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(20_000, ledger.snapshot().get("S3", "GetObject"));
        assertEquals(40_000, ledger.snapshot().total());
    }

    @Test
    void should_total_the_counts_processes_left_in_a_folder(@TempDir Path dir) throws Exception {
        RequestLog.write(dir.resolve("requests-1.json"), RequestCounts.builder().add("S3", "PutObject", 2).build());
        RequestLog.write(dir.resolve("requests-2.json"), RequestCounts.builder().add("S3", "PutObject", 3).add("SQS", "ReceiveMessage", 1).build());
        Files.writeString(dir.resolve("unrelated.txt"), "ignored");
        assertEquals(RequestCounts.builder().add("S3", "PutObject", 5).add("SQS", "ReceiveMessage", 1).build(), RequestLog.total(dir));
        Files.writeString(dir.resolve("requests-3.json"), "{broken");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RequestLog.total(dir));
        assertTrue(e.getMessage().contains("requests-3.json"), e.getMessage());
    }
}
