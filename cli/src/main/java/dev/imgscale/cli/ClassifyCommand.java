package dev.imgscale.cli;

import dev.imgscale.classifier.Classifier;
import dev.imgscale.classifier.ImageResult;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.assets.AssetResolver;
import dev.imgscale.classifier.catalog.ModelCatalog;
import dev.imgscale.classifier.catalog.ModelSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code imgscale classify}: labels image files on this machine, no cloud involved. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"Label image files on this machine, no cloud involved.",
            "Folders are searched recursively for image files; a bad image is reported and the rest are still labelled."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every image labelled", "1:failure", "2:usage error", "3:some images failed, the rest were labelled"})
final class ClassifyCommand implements Callable<Integer> {
    @Mixin
    CommandContext context;

    @Mixin
    OutputMixin output;

    @Mixin
    ModelOptions modelOptions;

    @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "Images, or folders of images.")
    List<Path> paths;

    @Override
    public Integer call() {
        ImageFiles.Found found = ImageFiles.expand(paths);
        PrintWriter err = context.err();
        if (!found.skipped().isEmpty()) {
            err.println("imgscale: skipped " + found.skipped().size() + " file(s) whose names are not images', e.g. "
                    + found.skipped().get(0));
            err.flush();
        }
        if (found.images().isEmpty()) {
            throw new ImgscaleException("No image files in " + paths + ".");
        }
        ModelCatalog catalog = ModelCatalog.builtIn();
        ModelSpec model = modelOptions.spec(catalog);
        AssetResolver resolver = AssetResolver.fromEnvironment(context.env());
        ResultWriter writer = new ResultWriter(context.out(), output.format());
        int failed = 0;
        try (Classifier classifier = modelOptions.open(model, resolver, modelOptions.options(), new ProgressBarListener(err))) {
            // Classify in slices so results appear while a large folder is still being worked through.
            List<Path> images = found.images();
            int slice = 64;
            for (int start = 0; start < images.size(); start += slice) {
                for (ImageResult r : classifier.classifyFiles(images.subList(start, Math.min(images.size(), start + slice)))) {
                    writer.write(r);
                    if (!r.ok()) {
                        failed++;
                    }
                }
            }
        }
        writer.finish();
        if (failed > 0) {
            err.println("imgscale: " + failed + " of " + found.images().size() + " image(s) failed; the rest were labelled.");
            err.flush();
            return ExitCodes.PARTIAL;
        }
        return ExitCodes.OK;
    }
}
