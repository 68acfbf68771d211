package dev.imgscale.daemon.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.classifier.ImgscaleException;
import java.nio.charset.StandardCharsets;

/** The one JSON mapper for messages and records. */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }

    public static byte[] bytes(Object value) {
        return write(value).getBytes(StandardCharsets.UTF_8);
    }

    public static <T> T read(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new MalformedRecordException("not a valid " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    public static <T> T read(byte[] json, Class<T> type) {
        return read(new String(json, StandardCharsets.UTF_8), type);
    }

    /** Reads {@code json[offset, offset + length)} (UTF-8) without copying it into a String first. */
    public static <T> T read(byte[] json, int offset, int length, Class<T> type) {
        try {
            return MAPPER.readValue(json, offset, length, type);
        } catch (JsonProcessingException e) {
            throw new MalformedRecordException("not a valid " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        } catch (java.io.IOException e) {
            throw new MalformedRecordException("not a valid " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** A message or object that is not the record it should be. */
    public static final class MalformedRecordException extends ImgscaleException {
        private static final long serialVersionUID = 1L;

        MalformedRecordException(String message, Throwable cause) {
            super(message, cause);
        }

        public MalformedRecordException(String message) {
            super(message);
        }
    }
}
