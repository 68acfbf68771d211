package dev.imgscale.daemon.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.imgscale.daemon.testing.FakeImds;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Type and market from the metadata service, at its HTTP boundary (IMDSv2 sessions included). */
class InstanceFactsTest {
    @Test
    void should_read_type_and_market_from_imds() throws Exception {
        try (FakeImds imds = FakeImds.start().metadata("instance-type", "c7g.large").metadata("instance-life-cycle", "spot")) {
            assertEquals(new InstanceFacts("c7g.large", "spot"), InstanceFacts.detect(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri())));
        }
        try (FakeImds imds = FakeImds.start().metadata("instance-type", "c7i.large").metadata("instance-life-cycle", "on-demand")) {
            assertEquals(new InstanceFacts("c7i.large", "on-demand"), InstanceFacts.detect(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri())));
        }
    }

    @Test
    void should_be_a_local_process_where_nothing_answers() throws Exception {
        String gone;
        try (FakeImds imds = FakeImds.start()) {
            gone = imds.uri();
            assertEquals(InstanceFacts.LOCAL_PROCESS, InstanceFacts.detect(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.uri())),
                    "IMDS without the paths");
        }
        assertEquals(InstanceFacts.LOCAL_PROCESS, InstanceFacts.detect(Map.of("AWS_EC2_METADATA_SERVICE_ENDPOINT", gone)), "no IMDS");
    }
}
