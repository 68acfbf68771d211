package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.cost.RequestCostReport;
import dev.imgscale.daemon.cost.RequestCounts;
import dev.imgscale.daemon.cost.RequestLedger;
import dev.imgscale.daemon.cost.RequestPrices;
import dev.imgscale.daemon.local.LocalStack;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;

/** The clients from {@link AwsClients} count what they send, on the real protocol (the local stack). */
class RequestAccountingIT {
    @TempDir
    static Path dataDir;

    static LocalStack stack;

    @BeforeAll
    static void start() {
        stack = LocalStack.start(dataDir, 0, 0);
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void should_count_a_put_a_ranged_get_a_list_and_an_sqs_batch_as_such() {
        RequestLedger ledger = RequestLedger.standalone();
        try (AwsClients aws = new AwsClients(stack.settings(), ledger)) {
            aws.s3().createBucket(b -> b.bucket("counted"));
            aws.s3().putObject(b -> b.bucket("counted").key("a/b.jpg"), RequestBody.fromString("0123456789abcdef"));
            byte[] range = aws.s3().getObjectAsBytes(b -> b.bucket("counted").key("a/b.jpg").range("bytes=4-7")).asByteArray();
            assertEquals("4567", new String(range, StandardCharsets.US_ASCII), "the GET was a real ranged GET");
            assertEquals(1, aws.s3().listObjectsV2(b -> b.bucket("counted").prefix("a/")).contents().stream()
                    .filter(o -> !o.key().endsWith("/")).count());
            String queue = aws.sqs().createQueue(b -> b.queueName("counted")).queueUrl();
            List<SendMessageBatchRequestEntry> entries = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                entries.add(SendMessageBatchRequestEntry.builder().id("m" + i).messageBody("body " + i).build());
            }
            assertEquals(10, aws.sqs().sendMessageBatch(b -> b.queueUrl(queue).entries(entries)).successful().size());

            RequestCounts counts = ledger.snapshot();
            RequestCounts expected = RequestCounts.builder()
                    .add("S3", "CreateBucket", 1).add("S3", "PutObject", 1).add("S3", "GetObject", 1).add("S3", "ListObjectsV2", 1)
                    .add("SQS", "CreateQueue", 1).add("SQS", "SendMessageBatch", 1).build();
            assertEquals(expected, counts);

            // ten messages in one batch are one SQS request; the ranged GET is a GET
            RequestCostReport report = new RequestCostReport(counts, RequestPrices.US_EAST_1, 10);
            assertEquals(Map.of(RequestPrices.PriceClass.S3_PUT, 3L, RequestPrices.PriceClass.S3_GET, 1L, RequestPrices.PriceClass.SQS, 2L,
                    RequestPrices.PriceClass.FREE, 0L), report.byClass());
            assertEquals(3 * 0.005 / 1000 + 0.0004 / 1000 + 2 * 0.40 / 1e6, report.dollars(), 1e-12);
        }
    }

    @Test
    void should_count_a_client_factory_on_its_own_and_in_the_process() {
        RequestCounts before = RequestLedger.process().snapshot();
        try (AwsClients aws = new AwsClients(stack.settings())) {
            aws.s3().createBucket(b -> b.bucket("process-counted"));
            aws.s3().headBucket(b -> b.bucket("process-counted"));
            assertEquals(RequestCounts.builder().add("S3", "CreateBucket", 1).add("S3", "HeadBucket", 1).build(), aws.requests().snapshot());
        }
        RequestCounts delta = RequestLedger.process().snapshot().minus(before);
        // other tests may send requests meanwhile in the same JVM, never fewer than these
        assertTrue(delta.get("S3", "CreateBucket") >= 1 && delta.get("S3", "HeadBucket") >= 1, delta.toString());
    }

    @Test
    void should_count_each_attempt_of_a_request_that_fails() {
        RequestLedger ledger = RequestLedger.standalone();
        try (AwsClients aws = new AwsClients(stack.settings(), ledger)) {
            // a missing key is an error response that AWS bills like any GET
            try {
                aws.s3().getObjectAsBytes(b -> b.bucket("no-such-bucket-here").key("x"));
            } catch (RuntimeException expected) {
                // NoSuchBucket
            }
            assertTrue(ledger.snapshot().get("S3", "GetObject") >= 1, ledger.snapshot().toString());
        }
    }
}
