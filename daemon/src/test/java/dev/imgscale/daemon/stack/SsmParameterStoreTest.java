package dev.imgscale.daemon.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.aws.AwsClients;
import dev.imgscale.daemon.aws.SsmParameterStore;
import dev.imgscale.classifier.ImgscaleException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link SsmParameterStore} through the SDK's real SSM client, against {@link FakeAwsEndpoint}:
 * the names it writes, the pages it follows, the batches it deletes in.
 */
class SsmParameterStoreTest {

    private FakeAwsEndpoint ssm;
    private AwsClients clients;
    private SsmParameterStore store;

    @BeforeEach
    void start() throws Exception {
        ssm = new FakeAwsEndpoint();
        clients = new AwsClients(ssm.settings());
        store = new SsmParameterStore(clients.ssm());
    }

    @AfterEach
    void stop() {
        clients.close();
        ssm.close();
    }

    @Test
    void should_write_each_key_as_a_string_parameter_named_imgscale_stack_key() {
        store.write("demo", Map.of("model", "resnet50", "max-receives", "5"));

        assertEquals(Map.of("/imgscale/demo/model", "resnet50", "/imgscale/demo/max-receives", "5"), ssm.parameters,
                ssm.transcript());
        List<FakeAwsEndpoint.Call> puts = ssm.calls("PutParameter");
        assertEquals(2, puts.size(), ssm.transcript());
        for (FakeAwsEndpoint.Call put : puts) {
            assertEquals("String", put.body().path("Type").asText(), put.rawBody());
            assertTrue(put.body().path("Overwrite").asBoolean(), put.rawBody());
        }
    }

    @Test
    void should_read_every_page_following_next_token() {
        ssm.pageSize = 3;
        Map<String, String> written = new LinkedHashMap<>();
        for (String key : ConfigLoader.KEYS) {
            if (!key.equals("stack")) {
                written.put(key, "value-of-" + key);
            }
        }
        store.write("demo", written);
        ssm.parameters.put("/imgscale/demo2/model", "not ours");
        ssm.calls.clear();

        Map<String, String> read = store.read("demo");

        assertEquals(new TreeMap<>(written), new TreeMap<>(read), ssm.transcript());
        int n = ConfigLoader.KEYS.size() - 1;
        assertEquals(n, read.size(), n + " keys besides stack: " + read);
        List<FakeAwsEndpoint.Call> pages = ssm.calls("GetParametersByPath");
        assertEquals((n + 2) / 3, pages.size(), n + " parameters in pages of 3:\n" + ssm.transcript());
        assertEquals("/imgscale/demo", pages.get(0).body().path("Path").asText());
        assertTrue(pages.get(0).body().path("Recursive").asBoolean(), pages.get(0).rawBody());
        assertFalse(pages.get(0).body().has("NextToken"), pages.get(0).rawBody());
        assertEquals("3", pages.get(1).body().path("NextToken").asText(), pages.get(1).rawBody());
        int last = pages.size() - 1;
        assertEquals(String.valueOf(3 * last), pages.get(last).body().path("NextToken").asText(), pages.get(last).rawBody());
    }

    @Test
    void should_delete_in_batches_of_ten_and_leave_other_stacks_alone() {
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i < 23; i++) {
            many.put("key-" + i, "v" + i);
        }
        store.write("demo", many);
        ssm.parameters.put("/imgscale/demo2/model", "not ours");
        ssm.calls.clear();

        store.delete("demo");

        List<Integer> batches = ssm.calls("DeleteParameters").stream().map(c -> c.body().path("Names").size()).toList();
        assertEquals(List.of(10, 10, 3), batches, ssm.transcript());
        assertEquals(Map.of("/imgscale/demo2/model", "not ours"), ssm.parameters);
        assertEquals(Map.of(), store.read("demo"));

        ssm.calls.clear();
        store.delete("demo");
        assertEquals(List.of(), ssm.calls("DeleteParameters"), "nothing to delete the second time");
    }

    @Test
    void should_say_in_one_sentence_when_aws_denies_access() {
        ssm.failWith = "AccessDeniedException";

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> store.read("demo"));

        assertTrue(e.getMessage().startsWith("AWS denied ssm:GetParametersByPath on /imgscale/demo"), e.getMessage());
        assertTrue(e.getMessage().contains("--profile"), e.getMessage());
    }

    @Test
    void should_refuse_empty_values_and_bad_keys_before_calling_ssm() {
        assertThrows(IllegalArgumentException.class, () -> store.write("demo", Map.of("model", "")));
        assertThrows(IllegalArgumentException.class, () -> store.write("demo", Map.of("a/b", "x")));
        assertThrows(ImgscaleException.class, () -> store.write("Not A Stack", Map.of("model", "x")));
        assertEquals(List.of(), ssm.calls, ssm.transcript());
    }

    @Test
    void should_name_its_location_as_the_config_option_does() {
        assertEquals("ssm:/imgscale/demo", store.location("demo"));
        assertEquals("/imgscale/demo/model", SsmParameterStore.name("demo", "model"));
        ConfigLocation parsed = ConfigLocation.parse(store.location("demo"), Map.of());
        assertEquals("demo", parsed.ssmStack());
    }
}
