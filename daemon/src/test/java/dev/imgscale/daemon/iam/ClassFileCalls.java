package dev.imgscale.daemon.iam;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What the compiled code of one class calls, read straight from its class file: for each method,
 * every method it invokes (with the owner type the compiler resolved, so {@code s3.putObject(...)}
 * is {@code software/amazon/awssdk/services/s3/S3Client.putObject} whatever the variable is
 * called), every method it hands out as a method handle (lambda bodies and method references,
 * through {@code invokedynamic}), and every class it instantiates.
 *
 * <p>Enough of the class-file format (JVMS chapter 4) to do that and no more: the constant pool,
 * the class header, methods and their {@code Code}, and {@code BootstrapMethods}. Reading bytecode
 * rather than source means no guessing at variable types, chained calls or imports.
 */
final class ClassFileCalls {
    static final int ACC_INTERFACE = 0x0200;
    static final int ACC_ABSTRACT = 0x0400;

    /** How a method refers to another. */
    enum Kind { VIRTUAL, SPECIAL, STATIC, INTERFACE, HANDLE, NEW }

    /** One reference from a method's code: {@code owner} in internal form ({@code a/b/C}). */
    record Call(Kind kind, String owner, String name, String descriptor) {
    }

    record Method(String name, String descriptor, int access, List<Call> calls) {
    }

    record ClassInfo(String name, String superName, List<String> interfaces, int access, List<Method> methods) {
        boolean isInterface() {
            return (access & ACC_INTERFACE) != 0;
        }
    }

    private ClassFileCalls() {
    }

    static ClassInfo read(byte[] bytes) {
        try {
            return new Reader(bytes).read();
        } catch (IOException e) {
            throw new UncheckedIOException("not a class file", e);
        }
    }

    private static final class Reader {
        private final DataInputStream in;
        private Object[] pool;
        private int[] tags;
        /** BootstrapMethods: for each, the constant-pool indexes of its arguments. */
        private final List<int[]> bootstrapArgs = new ArrayList<>();

        Reader(byte[] bytes) {
            this.in = new DataInputStream(new ByteArrayInputStream(bytes));
        }

        ClassInfo read() throws IOException {
            if (in.readInt() != 0xCAFEBABE) {
                throw new IOException("bad magic");
            }
            in.readUnsignedShort(); // minor
            in.readUnsignedShort(); // major
            readPool();
            int access = in.readUnsignedShort();
            String name = className(in.readUnsignedShort());
            int superIndex = in.readUnsignedShort();
            String superName = superIndex == 0 ? null : className(superIndex);
            List<String> interfaces = new ArrayList<>();
            for (int i = in.readUnsignedShort(); i > 0; i--) {
                interfaces.add(className(in.readUnsignedShort()));
            }
            for (int i = in.readUnsignedShort(); i > 0; i--) { // fields
                in.readUnsignedShort();
                in.readUnsignedShort();
                in.readUnsignedShort();
                skipAttributes();
            }
            record RawMethod(String name, String descriptor, int access, byte[] code) {
            }
            List<RawMethod> raw = new ArrayList<>();
            for (int i = in.readUnsignedShort(); i > 0; i--) {
                int methodAccess = in.readUnsignedShort();
                String methodName = utf8(in.readUnsignedShort());
                String descriptor = utf8(in.readUnsignedShort());
                byte[] code = null;
                for (int a = in.readUnsignedShort(); a > 0; a--) {
                    String attribute = utf8(in.readUnsignedShort());
                    byte[] body = in.readNBytes(in.readInt());
                    if (attribute.equals("Code")) {
                        code = body;
                    }
                }
                raw.add(new RawMethod(methodName, descriptor, methodAccess, code));
            }
            for (int a = in.readUnsignedShort(); a > 0; a--) {
                String attribute = utf8(in.readUnsignedShort());
                byte[] body = in.readNBytes(in.readInt());
                if (attribute.equals("BootstrapMethods")) {
                    readBootstrapMethods(body);
                }
            }
            List<Method> methods = new ArrayList<>();
            for (RawMethod m : raw) {
                methods.add(new Method(m.name(), m.descriptor(), m.access(), m.code() == null ? List.of() : calls(m.code())));
            }
            return new ClassInfo(name, superName, interfaces, access, methods);
        }

        private void readPool() throws IOException {
            int count = in.readUnsignedShort();
            pool = new Object[count];
            tags = new int[count];
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                tags[i] = tag;
                switch (tag) {
                    case 1 -> pool[i] = in.readUTF();
                    case 3, 4 -> in.readInt();
                    case 5, 6 -> {
                        in.readLong();
                        i++; // eight-byte constants take two slots
                    }
                    case 7, 8, 16, 19, 20 -> pool[i] = new int[] {in.readUnsignedShort()};
                    case 9, 10, 11, 12, 17, 18 -> pool[i] = new int[] {in.readUnsignedShort(), in.readUnsignedShort()};
                    case 15 -> pool[i] = new int[] {in.readUnsignedByte(), in.readUnsignedShort()};
                    default -> throw new IOException("unknown constant-pool tag " + tag + " at " + i);
                }
            }
        }

        private void readBootstrapMethods(byte[] body) throws IOException {
            DataInputStream b = new DataInputStream(new ByteArrayInputStream(body));
            for (int n = b.readUnsignedShort(); n > 0; n--) {
                b.readUnsignedShort(); // the bootstrap method itself (LambdaMetafactory, StringConcatFactory...)
                int[] args = new int[b.readUnsignedShort()];
                for (int i = 0; i < args.length; i++) {
                    args[i] = b.readUnsignedShort();
                }
                bootstrapArgs.add(args);
            }
        }

        private void skipAttributes() throws IOException {
            for (int a = in.readUnsignedShort(); a > 0; a--) {
                in.readUnsignedShort();
                in.skipNBytes(in.readInt());
            }
        }

        /** Walks the instructions of a Code attribute (JVMS 4.7.3, 6.5). */
        private List<Call> calls(byte[] attribute) {
            int codeLength = ((attribute[4] & 0xff) << 24) | ((attribute[5] & 0xff) << 16) | ((attribute[6] & 0xff) << 8)
                    | (attribute[7] & 0xff);
            int start = 8;
            List<Call> out = new ArrayList<>();
            int pc = 0;
            while (pc < codeLength) {
                int op = attribute[start + pc] & 0xff;
                switch (op) {
                    case 0xb6, 0xb7, 0xb8, 0xb9 -> { // invokevirtual, invokespecial, invokestatic, invokeinterface
                        Kind kind = switch (op) {
                            case 0xb6 -> Kind.VIRTUAL;
                            case 0xb7 -> Kind.SPECIAL;
                            case 0xb8 -> Kind.STATIC;
                            default -> Kind.INTERFACE;
                        };
                        out.add(memberRef(kind, u2(attribute, start + pc + 1)));
                    }
                    case 0xba -> { // invokedynamic: the method handles among its bootstrap arguments
                        int[] indy = (int[]) pool[u2(attribute, start + pc + 1)];
                        for (int arg : bootstrapArgs.get(indy[0])) {
                            if (tags[arg] == 15) {
                                out.add(memberRef(Kind.HANDLE, ((int[]) pool[arg])[1]));
                            }
                        }
                    }
                    case 0xbb -> out.add(new Call(Kind.NEW, className(u2(attribute, start + pc + 1)), "<init>", ""));
                    default -> {
                        // not a reference to a method or class
                    }
                }
                pc += length(attribute, start, pc, op);
            }
            return out;
        }

        private Call memberRef(Kind kind, int index) {
            int[] ref = (int[]) pool[index];
            int[] nameAndType = (int[]) pool[ref[1]];
            return new Call(kind, className(ref[0]), utf8(nameAndType[0]), utf8(nameAndType[1]));
        }

        /** The length of the instruction at {@code pc}, operands included. */
        private static int length(byte[] code, int start, int pc, int op) {
            if (op == 0xaa || op == 0xab) { // tableswitch, lookupswitch: padded to a multiple of four
                int p = pc + 1 + ((4 - (pc + 1) % 4) % 4);
                if (op == 0xaa) {
                    int low = s4(code, start + p + 4);
                    int high = s4(code, start + p + 8);
                    return p - pc + 12 + 4 * (high - low + 1);
                }
                int pairs = s4(code, start + p + 4);
                return p - pc + 8 + 8 * pairs;
            }
            if (op == 0xc4) { // wide
                return (code[start + pc + 1] & 0xff) == 0x84 ? 6 : 4;
            }
            return switch (op) {
                case 0x10, 0x12, 0x15, 0x16, 0x17, 0x18, 0x19, 0x36, 0x37, 0x38, 0x39, 0x3a, 0xa9, 0xbc -> 2;
                case 0x11, 0x13, 0x14, 0x84, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xbb, 0xbd, 0xc0, 0xc1, 0xc6, 0xc7 -> 3;
                case 0xc5 -> 4;
                case 0xb9, 0xba, 0xc8, 0xc9 -> 5;
                default -> {
                    if (op >= 0x99 && op <= 0xa8) { // conditional branches, goto, jsr
                        yield 3;
                    }
                    if (op > 0xc9) {
                        throw new IllegalStateException("unknown opcode 0x" + Integer.toHexString(op));
                    }
                    yield 1;
                }
            };
        }

        private String utf8(int index) {
            return (String) pool[index];
        }

        private String className(int index) {
            return utf8(((int[]) pool[index])[0]);
        }

        private static int u2(byte[] b, int at) {
            return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
        }

        private static int s4(byte[] b, int at) {
            return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
        }
    }
}
