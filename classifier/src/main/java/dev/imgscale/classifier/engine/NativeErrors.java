package dev.imgscale.classifier.engine;

/** What of a native engine's error goes into a one-sentence message. */
final class NativeErrors {
    private NativeErrors() {
    }

    /** The message's first line: OpenCV and ONNX Runtime follow it with source locations and stack traces. */
    static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        String trimmed = message.strip();
        int nl = trimmed.indexOf('\n');
        return nl < 0 ? trimmed : trimmed.substring(0, nl);
    }
}
