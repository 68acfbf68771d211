package dev.imgscale.cli;

/**
 * How commands print results ({@code --output}): {@code text} for people, {@code json} (one object
 * per line) and {@code csv} (header {@code name,label,score,error}) for programs, {@code jsonl}
 * (pipeline results only: each stored result record as it is, one per line, with job, worker,
 * receives and times), and {@code course} ({@code (name, label)} lines, name without extension) as
 * the original course tools expect.
 */
public enum OutputFormat {
    text, json, csv, jsonl, course
}
