package dev.imgscale.cli;

/** How commands print results: {@code --output}. */
public enum OutputFormat {
    text, json, csv
}
