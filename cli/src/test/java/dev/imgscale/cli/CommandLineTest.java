package dev.imgscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandLineTest {
    @Test
    void should_list_the_subcommands_in_help() {
        CliRun run = CliRun.run(CliRun.env(), "--help");
        assertEquals(0, run.exitCode(), run.evidence());
        for (String sub : new String[] {"classify", "bench", "model", "generate-completion"}) {
            assertTrue(run.out().contains(sub), sub + "\n" + run.evidence());
        }
        assertTrue(run.out().contains("3   partial success"), run.evidence());
    }

    @Test
    void should_build_only_the_subcommand_the_arguments_name() {
        assertEquals(java.util.Set.of("status"),
                ImgscaleCommand.commandLine(CliRun.env(), new String[] {"status", "--local"}).getSubcommands().keySet());
        assertEquals(17, ImgscaleCommand.commandLine(CliRun.env(), new String[] {"--help"}).getSubcommands().size());
        CliRun help = CliRun.run(CliRun.env(), "status", "--help");
        assertEquals(0, help.exitCode(), help.evidence());
        assertTrue(help.out().startsWith("Usage: imgscale status"), help.evidence());
    }

    @Test
    void should_suggest_the_subcommand_a_typo_meant() {
        CliRun run = CliRun.run(CliRun.env(), "statsu");
        assertEquals(ExitCodes.USAGE, run.exitCode(), run.evidence());
        assertTrue(run.err().contains("status"), run.evidence());
    }

    @Test
    void should_exit_2_with_usage_on_a_bad_option() {
        CliRun run = CliRun.run(CliRun.env(), "classify", "--no-such-option", "x.jpg");
        assertEquals(ExitCodes.USAGE, run.exitCode(), run.evidence());
        assertTrue(run.err().contains("Unknown option"), run.evidence());
    }

    @Test
    void should_explain_a_user_error_in_one_sentence_without_a_stack_trace() {
        CliRun run = CliRun.run(CliRun.env(), "classify", "--model", "resnet51", "missing.jpg");
        assertEquals(ExitCodes.FAILURE, run.exitCode(), run.evidence());
        assertEquals(1, run.err().strip().lines().count(), run.evidence());
        assertFalse(run.err().contains("\tat "), run.evidence());
    }

    @Test
    void should_name_the_url_and_the_fix_when_a_model_is_missing_offline() {
        Map<String, String> env = CliRun.env();
        CliRun run = CliRun.run(env, "classify", "--model", "resnet50", dev.imgscale.classifier.TestAssets.images().resolve("owl.jpg").toString());
        assertEquals(ExitCodes.FAILURE, run.exitCode(), run.evidence());
        assertTrue(run.err().contains("resnet50_Opset17.onnx") && run.err().contains("https://") && run.err().contains("IMGSCALE_ASSETS"),
                run.evidence());
    }

    @Test
    void should_refuse_a_bad_decode_thread_count_before_starting_a_worker() {
        for (String bad : new String[] {"-2", "lots"}) {
            CliRun run = CliRun.run(CliRun.env(), "worker", "--decode-threads", bad);
            assertEquals(ExitCodes.USAGE, run.exitCode(), run.evidence());
            assertTrue(run.err().contains("--decode-threads takes a number of threads (0 or auto to choose), not '" + bad + "'"),
                    run.evidence());
        }
    }

    @Test
    void should_print_a_completion_script() {
        CliRun run = CliRun.run(CliRun.env(), "generate-completion");
        assertEquals(0, run.exitCode(), run.evidence());
        assertTrue(run.out().contains("complete -F") && run.out().contains("classify"), run.evidence());
    }

    @Test
    void should_list_models_and_where_they_are() {
        CliRun run = CliRun.run(CliRun.env(), "model", "list");
        assertEquals(0, run.exitCode(), run.evidence());
        assertTrue(run.out().contains("mobilenet-v2-int8") && run.out().contains("tf2_mobilenet_v2_1.0_224_ptq.tflite"), run.evidence());
        assertTrue(run.out().contains("missing (imgscale model pull resnet50)"), run.evidence());
    }
}
