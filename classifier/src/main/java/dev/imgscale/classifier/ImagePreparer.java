package dev.imgscale.classifier;

import dev.imgscale.classifier.catalog.InputSpec;
import dev.imgscale.classifier.decode.DecodeLimits;
import dev.imgscale.classifier.decode.ImageRejectedException;
import dev.imgscale.classifier.decode.SafeDecoder;
import java.nio.file.Path;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decode + preprocess without an engine: encoded image bytes in, the model's input tensor out. The
 * decode stage of a pipeline, which can run on its own threads, as many as
 * {@link DecodeSplit} says, apart from the engine streams. JPEGs are decoded at the smallest DCT
 * scale that still gives the preprocessing its resize target ({@link SafeDecoder#decode(byte[], int)}),
 * after the decode limits have checked the declared full size.
 *
 * <p>Thread-safe and stateless: one instance serves any number of threads.
 */
@ThreadSafe
public final class ImagePreparer {
    private final SafeDecoder decoder;
    private final Preprocessor preprocessor;

    public ImagePreparer(InputSpec input, DecodeLimits limits) {
        this.decoder = new SafeDecoder(limits);
        this.preprocessor = new Preprocessor(input);
    }

    /** Floats one image takes in the input tensor (3 x height x width). */
    public int tensorLength() {
        return preprocessor.spec().tensorLength();
    }

    public DecodeLimits limits() {
        return decoder.limits();
    }

    /** Decodes and preprocesses one encoded image into a new tensor. */
    public float[] prepare(byte[] encoded) throws ImageRejectedException {
        float[] tensor = new float[tensorLength()];
        prepareInto(encoded, tensor, 0);
        return tensor;
    }

    /**
     * Decodes and preprocesses one encoded image straight into slot {@code index} of a batch tensor
     * ({@code batch} holds {@link #tensorLength()} floats per image, NCHW). The slot is untouched if
     * the image is rejected.
     */
    public void prepareInto(byte[] encoded, float[] batch, int index) throws ImageRejectedException {
        try (SafeDecoder.Scaled image = decoder.decodeScaled(encoded, preprocessor.minShorterSide())) {
            preprocessor.toTensor(image.image(), batch, index * tensorLength(), image.denominator() > 1);
        }
    }

    /** Reads, decodes and preprocesses one image file. */
    public float[] prepare(Path file) throws ImageRejectedException {
        return prepare(decoder.read(file));
    }

    /**
     * As {@link #prepare(byte[])} but always decoding at full size: the reference that scaled
     * decoding is compared with (benchmarks, tests).
     */
    public float[] prepareFullScale(byte[] encoded) throws ImageRejectedException {
        try (Mat image = decoder.decode(encoded)) {
            return preprocessor.toTensor(image);
        }
    }
}
