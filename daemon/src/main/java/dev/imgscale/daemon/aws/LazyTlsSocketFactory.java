package dev.imgscale.daemon.aws;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import javax.net.ssl.SSLContext;
import org.apache.http.HttpHost;
import org.apache.http.conn.socket.LayeredConnectionSocketFactory;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.protocol.HttpContext;
import software.amazon.awssdk.http.SystemPropertyTlsKeyManagersProvider;
import software.amazon.awssdk.http.apache.internal.conn.SdkTlsSocketFactory;

/**
 * The HTTPS socket factory the SDK's Apache client makes by default (the JDK's trust store, key
 * managers from the {@code javax.net.ssl.keyStore} properties, the default host name check), made
 * on the first HTTPS connection rather than when the client is built. Initialising TLS reads the
 * trust store and seeds a random generator: about half a second of a CLI command's start on a busy
 * two-core machine, and commands against the local stack (plain HTTP) never need it.
 */
final class LazyTlsSocketFactory implements LayeredConnectionSocketFactory {
    private volatile LayeredConnectionSocketFactory delegate;

    private LayeredConnectionSocketFactory delegate() throws IOException {
        LayeredConnectionSocketFactory d = delegate;
        if (d == null) {
            synchronized (this) {
                d = delegate;
                if (d == null) {
                    d = create();
                    delegate = d;
                }
            }
        }
        return d;
    }

    private static LayeredConnectionSocketFactory create() throws IOException {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(SystemPropertyTlsKeyManagersProvider.create().keyManagers(), null, null);
            return new SdkTlsSocketFactory(context, SSLConnectionSocketFactory.getDefaultHostnameVerifier());
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS cannot be set up: " + e.getMessage(), e);
        }
    }

    /** Whether TLS has been set up (for tests). */
    boolean initialised() {
        return delegate != null;
    }

    @Override
    public Socket createSocket(HttpContext context) throws IOException {
        return delegate().createSocket(context);
    }

    @Override
    public Socket connectSocket(int connectTimeout, Socket sock, HttpHost host, InetSocketAddress remoteAddress,
            InetSocketAddress localAddress, HttpContext context) throws IOException {
        return delegate().connectSocket(connectTimeout, sock, host, remoteAddress, localAddress, context);
    }

    @Override
    public Socket createLayeredSocket(Socket socket, String target, int port, HttpContext context) throws IOException {
        return delegate().createLayeredSocket(socket, target, port, context);
    }
}
