package dev.imgscale.cli;

import java.util.List;
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

    /** The subcommands, in the order help lists them. */
    private static final List<Class<?>> SUBCOMMANDS = List.of(
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
            AutoComplete.GenerateCompletion.class);

    /** The configured command line with every subcommand, ready to {@code execute}. */
    public static CommandLine commandLine(Map<String, String> env) {
        return commandLine(env, SUBCOMMANDS);
    }

    /**
     * The command line for {@code args}: with only the subcommand they start with when they start
     * with one, else every subcommand. picocli builds each command it is given (reflection over
     * its options and mixins), which took about 0.3 s of every start for all seventeen; help,
     * completion and a mistyped name still get the whole tree.
     */
    public static CommandLine commandLine(Map<String, String> env, String[] args) {
        if (args.length > 0) {
            for (Class<?> command : SUBCOMMANDS) {
                if (command != AutoComplete.GenerateCompletion.class && command.getAnnotation(Command.class).name().equals(args[0])) {
                    return commandLine(env, List.of(command));
                }
            }
        }
        return commandLine(env);
    }

    private static CommandLine commandLine(Map<String, String> env, List<Class<?>> subcommands) {
        CommandLine cli = new CommandLine(new ImgscaleCommand(env));
        for (Class<?> command : subcommands) {
            cli.addSubcommand(command);
        }
        cli.setExecutionExceptionHandler(new ErrorHandler());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        CommandLine completion = cli.getSubcommands().get("generate-completion");
        if (completion != null) {
            completion.getCommandSpec().usageMessage().hidden(false);
        }
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
