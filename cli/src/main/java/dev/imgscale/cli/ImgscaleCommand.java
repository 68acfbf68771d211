package dev.imgscale.cli;

import java.util.Map;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The top-level {@code imgscale} command: its subcommands do the work. */
@Command(name = "imgscale",
        mixinStandardHelpOptions = true,
        versionProvider = ManifestVersion.class,
        description = "Classify large batches of images with ImageNet models, on one machine or an elastic fleet.",
        subcommands = {
            ClassifyCommand.class,
            BenchCommand.class,
            ModelCommand.class,
            LocalCommand.class,
            InitCommand.class,
            InitCommand.Destroy.class,
            UploadCommand.class,
            WorkerCommand.class,
            ResultsCommand.class,
            StatusCommand.class,
            ResetCommand.class,
            ServeCommand.class,
            ControllerCommand.class,
            DemoCommand.class,
            SimulateCommand.class,
            RequestsCommand.class,
            AutoComplete.GenerateCompletion.class
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:failure (the message says what and how to fix it)",
            "2:usage error",
            "3:partial success: some images failed, the rest were labelled",
            "4:not complete yet: some images of the job have no result"
        })
public final class ImgscaleCommand implements Runnable {
    private final Map<String, String> env;

    @Spec
    CommandSpec spec;

    ImgscaleCommand(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    /** The environment the command runs in (tests pass their own). */
    Map<String, String> env() {
        return env;
    }

    /** The configured command line, ready to {@code execute}. */
    public static CommandLine commandLine(Map<String, String> env) {
        CommandLine cli = new CommandLine(new ImgscaleCommand(env));
        cli.setExecutionExceptionHandler(new ErrorHandler());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(false);
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
