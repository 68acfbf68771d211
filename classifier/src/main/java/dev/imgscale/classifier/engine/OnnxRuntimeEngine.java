package dev.imgscale.classifier.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.classifier.NotThreadSafe;
import dev.imgscale.classifier.catalog.InputSpec;
import dev.imgscale.classifier.catalog.ModelSpec;
import dev.imgscale.classifier.catalog.OutputSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * ONNX Runtime (CPU execution provider) running an ONNX model. It cannot read TFLite: those models
 * stay on {@link OpenCvDnnEngine}.
 *
 * <p>The session uses {@code threads} intra-op threads (0 = one per available processor, set
 * explicitly rather than left to ONNX Runtime, whose own default counts physical cores and would
 * use one thread on a 2-vCPU instance), one inter-op thread (a classifier is one chain of
 * operators: a second thread has nothing to run in parallel) and every graph optimisation. The input
 * and output names and the input shape come from the model's own metadata, so any ONNX classifier
 * that takes an NCHW image tensor works without naming its nodes in the catalog. A dynamic batch
 * dimension takes any batch (up to the catalog's {@code maxBatch}); a model exported with a fixed
 * batch size is fed in passes of exactly that size.
 *
 * <p>The ONNX Runtime environment (native library, logging) is process-wide and never closed;
 * each engine owns its session.
 */
@NotThreadSafe
public final class OnnxRuntimeEngine implements Engine {
    private final OrtEnvironment env;
    private final OrtSession.SessionOptions sessionOptions;
    private final OrtSession session;
    private final InputSpec input;
    private final OutputSpec output;
    private final String inputName;
    private final String outputName;
    private final int intraOpThreads;
    /** Images per forward pass: the catalog's maxBatch, or the model's fixed batch dimension. */
    private final int maxBatch;
    /** True when the model's batch dimension is fixed: every pass must then hold exactly maxBatch images. */
    private final boolean fixedBatch;
    /**
     * A reused direct buffer: ONNX Runtime reads a direct buffer in place, whereas a heap array would
     * be copied into a fresh direct buffer on every pass (600 KB per ResNet image).
     */
    private FloatBuffer staging;

    public OnnxRuntimeEngine(ModelSpec spec, Path modelFile, int threads) {
        if (!"onnx".equals(spec.format())) {
            throw new ImgscaleException("ONNX Runtime cannot run " + spec.name() + ": it is a " + spec.format()
                    + " model and ONNX Runtime reads only ONNX; use --engine opencv (or auto).");
        }
        this.input = spec.input();
        this.output = spec.output();
        this.env = environment();
        this.intraOpThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        OrtSession.SessionOptions options = null;
        OrtSession opened = null;
        try {
            options = new OrtSession.SessionOptions();
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // Idle intra-op threads sleep instead of spinning: the worker downloads, writes results
            // and talks to SQS beside the engine, and on 2 cores a spinning thread takes the core
            // those threads need. Measured on ResNet-50 (2-core EPYC): inference alone unchanged
            // (40.5-41.5 ms/image either way), the worker's pipeline 0.87 of the classifier alone
            // instead of 0.80 (imgscale bench pipeline).
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            opened = env.createSession(modelFile.toString(), options);
            this.inputName = pickInput(opened, modelFile);
            this.outputName = pickOutput(opened, modelFile);
            long batchDim = checkInputShape(opened, modelFile);
            int catalogMax = spec.maxBatch() > 0 ? spec.maxBatch() : Integer.MAX_VALUE;
            this.fixedBatch = batchDim > 0;
            this.maxBatch = fixedBatch ? (int) batchDim : catalogMax;
        } catch (OrtException e) {
            if (opened != null) {
                closeQuietly(opened);
            }
            if (options != null) {
                options.close();
            }
            throw new ImgscaleException("ONNX Runtime cannot load " + modelFile + ": " + NativeErrors.firstLine(e.getMessage()), e);
        } catch (RuntimeException e) {
            if (opened != null) {
                closeQuietly(opened);
            }
            if (options != null) {
                options.close();
            }
            throw e;
        }
        this.sessionOptions = options;
        this.session = opened;
    }

    /**
     * Whether ONNX Runtime's native library loads on this machine. The shaded jar carries only the
     * ONNX Runtime natives of the platform it was built for (see the shade filter in cli/pom.xml);
     * where they are missing, {@code auto} falls back to OpenCV DNN.
     */
    public static boolean isAvailable() {
        try {
            environment();
            return true;
        } catch (ImgscaleException e) {
            return false;
        }
    }

    private static OrtEnvironment environment() {
        try {
            // warnings only about what is wrong: ONNX Runtime's default level logs every session's
            // optimiser decisions to stderr
            return OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "imgscale");
        } catch (LinkageError | RuntimeException e) {
            // the static initialiser's failure (ExceptionInInitializerError) the first time, and
            // NoClassDefFoundError after: both mean the native library is not there for this platform
            throw new ImgscaleException("ONNX Runtime's native library does not load on this machine ("
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch")
                    + "): this jar carries only its build platform's natives; use --engine opencv or a jar built for this platform.", e);
        }
    }

    private static String pickInput(OrtSession session, Path modelFile) throws OrtException {
        Map<String, NodeInfo> inputs = session.getInputInfo();
        if (inputs.size() != 1) {
            throw new ImgscaleException("ONNX Runtime: " + modelFile + " has " + inputs.size() + " inputs " + inputs.keySet()
                    + "; imgscale feeds models with one image input.");
        }
        return inputs.keySet().iterator().next();
    }

    private String pickOutput(OrtSession session, Path modelFile) throws OrtException {
        Set<String> names = session.getOutputNames();
        // The catalog's layer names an OpenCV layer (the TFLite quirk); honour it only when it is
        // also one of this graph's outputs, otherwise read the classifier's first output.
        if (output.layer() != null && names.contains(output.layer())) {
            return output.layer();
        }
        if (names.isEmpty()) {
            throw new ImgscaleException("ONNX Runtime: " + modelFile + " has no outputs.");
        }
        return names.iterator().next();
    }

    /** Checks the input is [N, 3, H, W] float matching the preset; returns N (-1 when dynamic). */
    private long checkInputShape(OrtSession session, Path modelFile) throws OrtException {
        NodeInfo node = session.getInputInfo().get(inputName);
        if (!(node.getInfo() instanceof TensorInfo info) || info.type != OnnxJavaType.FLOAT) {
            throw new ImgscaleException("ONNX Runtime: the input '" + inputName + "' of " + modelFile + " is " + node.getInfo()
                    + ", not a float tensor; check --preset.");
        }
        long[] shape = info.getShape();
        boolean ok = shape.length == 4
                && (shape[1] <= 0 || shape[1] == 3)
                && (shape[2] <= 0 || shape[2] == input.height())
                && (shape[3] <= 0 || shape[3] == input.width());
        if (!ok) {
            throw new ImgscaleException("ONNX Runtime: the input '" + inputName + "' of " + modelFile + " has shape "
                    + Arrays.toString(shape) + " but the preset feeds [N, 3, " + input.height() + ", " + input.width()
                    + "]; check --preset.");
        }
        return shape[0];
    }

    @Override
    public String name() {
        return "onnxruntime";
    }

    /** The intra-op threads the session was created with. */
    public int threads() {
        return intraOpThreads;
    }

    @Override
    public float[][] run(float[] data, int count) {
        int per = input.tensorLength();
        if (data.length != per * count) {
            throw new IllegalArgumentException("input holds " + data.length + " floats, not " + count + " x " + per);
        }
        float[][] rows = new float[count][];
        for (int start = 0; start < count; start += maxBatch) {
            int n = Math.min(maxBatch, count - start);
            // a fixed-batch model needs full passes: the last one is padded with zeros and the
            // padding's rows are dropped
            int fed = fixedBatch ? maxBatch : n;
            float[][] part = forward(data, start * per, n * per, fed);
            System.arraycopy(part, 0, rows, start, n);
        }
        return rows;
    }

    private float[][] forward(float[] data, int offset, int length, int fed) {
        int per = input.tensorLength();
        FloatBuffer buffer = staging(fed * per);
        buffer.put(data, offset, length);
        while (buffer.position() < fed * per) {
            buffer.put(0f);
        }
        buffer.flip();
        long[] shape = {fed, 3, input.height(), input.width()};
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, buffer, shape);
             OrtSession.Result result = session.run(Map.of(inputName, tensor), Set.of(outputName))) {
            return read(result.get(0), fed);
        } catch (OrtException e) {
            throw new ImgscaleException("ONNX Runtime failed to run the model on a batch of " + fed + ": "
                    + NativeErrors.firstLine(e.getMessage()), e);
        }
    }

    private FloatBuffer staging(int floats) {
        if (staging == null || staging.capacity() < floats) {
            staging = ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
        staging.clear();
        staging.limit(floats);
        return staging;
    }

    private float[][] read(OnnxValue value, int count) {
        if (!(value instanceof OnnxTensor tensor)) {
            throw new ImgscaleException("the model's output '" + outputName + "' is not a tensor; check --preset");
        }
        TensorInfo info = tensor.getInfo();
        int classes = output.classes();
        if (info.getNumElements() != (long) count * classes) {
            throw new ImgscaleException("the model gave " + info.getNumElements() + " outputs for " + count
                    + " images, expected " + classes + " per image; check --preset");
        }
        float[][] rows = new float[count][classes];
        if (info.type == OnnxJavaType.FLOAT) {
            FloatBuffer values = tensor.getFloatBuffer();
            for (int i = 0; i < count; i++) {
                values.get(rows[i]);
            }
        } else if (info.type == OnnxJavaType.INT8 || info.type == OnnxJavaType.UINT8) {
            // an int8 output is dequantised with the catalog's scale and zero point, as OpenCV's is
            if (!"int8-softmax".equals(output.kind())) {
                throw new ImgscaleException("the model's output '" + outputName + "' is int8 but the preset reads "
                        + output.kind() + "; check --preset");
            }
            ByteBuffer bytes = tensor.getByteBuffer();
            boolean signed = info.type == OnnxJavaType.INT8;
            for (int i = 0; i < count; i++) {
                for (int k = 0; k < classes; k++) {
                    int q = signed ? bytes.get() : bytes.get() & 0xff;
                    rows[i][k] = (float) ((q - output.quantZeroPoint()) * output.quantScale());
                }
            }
        } else {
            throw new ImgscaleException("the model's output '" + outputName + "' is " + info.type
                    + ", not float or int8; check --preset");
        }
        return rows;
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // already failing: the load error is the one worth reporting
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new ImgscaleException("ONNX Runtime failed to release its session: " + NativeErrors.firstLine(e.getMessage()), e);
        } finally {
            sessionOptions.close();
        }
    }
}
