package dev.imgscale.cli;

/** The {@code imgscale} binary. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(ImgscaleCommand.commandLine(System.getenv()).execute(args));
    }
}
