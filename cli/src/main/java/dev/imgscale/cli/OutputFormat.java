package dev.imgscale.cli;

/**
 * How commands print results ({@code --output}): {@code text} for people, {@code json} (one object
 * per line) and {@code csv} (header {@code name,label,score,error}) for programs, and {@code course}
 * ({@code (name, label)} lines, name without extension) as the original course tools expect.
 */
public enum OutputFormat {
    text, json, csv, course
}
