package dev.imgscale.classifier.engine;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.NotThreadSafe;
import dev.imgscale.classifier.catalog.InputSpec;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.catalog.OutputSpec;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_dnn;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_dnn.Net;

/**
 * OpenCV DNN ({@code readNet}) running a TFLite or ONNX model on the CPU. OpenCV's thread count is
 * process-wide ({@code cv::setNumThreads}), so the last engine created sets it for all.
 */
@NotThreadSafe
public final class OpenCvDnnEngine implements Engine {
    private static final Object LOAD_LOCK = new Object();
    private final Net net;
    private final InputSpec input;
    private final OutputSpec output;
    private final int maxBatch;

    public OpenCvDnnEngine(ModelSpec spec, Path modelFile, int threads) {
        this.input = spec.input();
        this.output = spec.output();
        this.maxBatch = spec.maxBatch() > 0 ? spec.maxBatch() : Integer.MAX_VALUE;
        if (threads > 0) {
            opencv_core.setNumThreads(threads);
        }
        try {
            this.net = readNet(modelFile);
        } catch (RuntimeException e) {
            throw new ImgscaleException("OpenCV DNN cannot load " + modelFile + " as a " + spec.format() + " model: "
                    + NativeErrors.firstLine(e.getMessage()), e);
        }
        if (net.empty()) {
            net.close();
            throw new ImgscaleException("OpenCV DNN loaded an empty network from " + modelFile + ".");
        }
        if (maxBatch > 1) {
            // Measured with OpenCV 4.11: once a network whose layers were fused runs a different batch
            // size, its outputs are wrong from then on (ResNet-18 logits off by up to 118). A worker's
            // batches vary in size, so correctness wins over fusion's speed here; models limited to one
            // image per pass (the TFLite ones) never change shape and keep it.
            net.enableFusion(false);
        }
        net.setPreferableBackend(opencv_dnn.DNN_BACKEND_OPENCV);
        net.setPreferableTarget(opencv_dnn.DNN_TARGET_CPU);
    }

    /**
     * One network load at a time in the process: OpenCV 4.11's TFLite importer is not safe to run
     * on two threads at once (seen: the first two MobileNetV2 int8 loads of a test JVM, side by side,
     * one failing with "Unsupported operator type QUANTIZE"), so the streams' copies of a network load in turn. Each
     * loaded {@link Net} then runs on its own without any lock.
     */
    private static Net readNet(Path modelFile) {
        synchronized (LOAD_LOCK) {
            return opencv_dnn.readNet(modelFile.toString());
        }
    }

    @Override
    public String name() {
        return "opencv";
    }

    @Override
    public float[][] run(float[] data, int count) {
        int per = input.tensorLength();
        if (data.length != per * count) {
            throw new IllegalArgumentException("input holds " + data.length + " floats, not " + count + " x " + per);
        }
        if (count <= maxBatch) {
            return forward(data, count);
        }
        float[][] rows = new float[count][];
        for (int start = 0; start < count; start += maxBatch) {
            int n = Math.min(maxBatch, count - start);
            float[] part = java.util.Arrays.copyOfRange(data, start * per, (start + n) * per);
            System.arraycopy(forward(part, n), 0, rows, start, n);
        }
        return rows;
    }

    private float[][] forward(float[] data, int count) {
        try (Mat blob = new Mat(new int[] {count, 3, input.height(), input.width()}, opencv_core.CV_32F)) {
            FloatBuffer buffer = blob.createBuffer();
            buffer.put(data);
            net.setInput(blob);
            try (Mat out = output.layer() == null ? net.forward() : net.forward(output.layer())) {
                return read(out, count);
            }
        } catch (RuntimeException e) {
            throw new ImgscaleException("OpenCV DNN failed to run the model on a batch of " + count + ": "
                    + NativeErrors.firstLine(e.getMessage()), e);
        }
    }

    private float[][] read(Mat out, int count) {
        long total = out.total();
        if (total != (long) count * output.classes()) {
            throw new ImgscaleException("the model gave " + total + " outputs for " + count + " images, expected "
                    + output.classes() + " per image; check --preset");
        }
        int classes = output.classes();
        float[][] rows = new float[count][classes];
        if ("int8-softmax".equals(output.kind())) {
            if (out.depth() != opencv_core.CV_8S && out.depth() != opencv_core.CV_8U) {
                throw new ImgscaleException("layer " + output.layer() + " is not int8; check --preset");
            }
            ByteBuffer bytes = out.createBuffer();
            boolean signed = out.depth() == opencv_core.CV_8S;
            for (int i = 0; i < count; i++) {
                for (int k = 0; k < classes; k++) {
                    int q = signed ? bytes.get() : bytes.get() & 0xff;
                    rows[i][k] = (float) ((q - output.quantZeroPoint()) * output.quantScale());
                }
            }
        } else {
            Mat floats = out;
            if (out.depth() != opencv_core.CV_32F) {
                floats = new Mat();
                out.convertTo(floats, opencv_core.CV_32F);
            }
            FloatBuffer values = floats.createBuffer();
            for (int i = 0; i < count; i++) {
                values.get(rows[i]);
            }
            if (floats != out) {
                floats.close();
            }
        }
        return rows;
    }

    @Override
    public void close() {
        net.close();
    }
}
