package dev.imgscale.daemon.client;

import java.nio.file.Path;

/** A file to upload and the name it gets within its job. */
public record UploadItem(Path file, String name, long size) {
}
