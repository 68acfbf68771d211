package dev.imgscale.cli;

import picocli.CommandLine.IVersionProvider;

/** {@code --version}: read from the jar's manifest, so it always matches the build. */
final class ManifestVersion implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = ImgscaleCommand.class.getPackage().getImplementationVersion();
        return new String[] {
            "imgscale " + (version == null ? "(development build, no jar manifest)" : version),
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + "), "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch")
        };
    }
}
