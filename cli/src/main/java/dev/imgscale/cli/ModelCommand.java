package dev.imgscale.cli;

import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code imgscale model list|pull}: the model catalog and its files. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "List the models imgscale knows, or fetch one.",
        subcommands = {ModelCommand.ListModels.class, ModelCommand.Pull.class})
final class ModelCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static String megabytes(long bytes) {
        return bytes < 0 ? "?" : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Show every model, its size, and where its file is (or that it is missing).")
    static final class ListModels implements Runnable {
        @Mixin
        CommandContext context;

        @Override
        public void run() {
            PrintWriter out = context.out();
            AssetResolver resolver = AssetResolver.fromEnvironment(context.env());
            out.printf(Locale.ROOT, "%-18s %-7s %-12s %9s  %s%n", "NAME", "FORMAT", "PRESET", "SIZE", "FILE");
            for (ModelSpec m : ModelCatalog.builtIn().models()) {
                Optional<Path> at = resolver.locate(m.asset());
                out.printf(Locale.ROOT, "%-18s %-7s %-12s %9s  %s%n", m.name(), m.format(), m.preset(), megabytes(m.asset().size()),
                        at.map(Path::toString).orElse("missing (imgscale model pull " + m.name() + ")"));
            }
            out.flush();
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true,
            description = "Fetch a model (and its labels) into the cache, checking size and SHA-256; nothing to do if a good copy is already at hand.")
    static final class Pull implements Runnable {
        @Mixin
        CommandContext context;

        @Parameters(arity = "1..*", paramLabel = "NAME", description = "Model names from `imgscale model list`.")
        java.util.List<String> names;

        @Override
        public void run() {
            ModelCatalog catalog = ModelCatalog.builtIn();
            AssetResolver resolver = AssetResolver.fromEnvironment(context.env());
            PrintWriter out = context.out();
            ProgressBarListener progress = new ProgressBarListener(context.err());
            for (String name : names) {
                ModelSpec m = catalog.model(name);
                Path model = resolver.resolve(m.asset(), progress);
                resolver.resolve(m.labels().asset(), progress);
                out.println(m.name() + "\t" + model);
            }
            out.flush();
        }
    }
}
