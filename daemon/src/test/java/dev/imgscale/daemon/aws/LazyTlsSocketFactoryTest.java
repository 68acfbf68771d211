package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import org.apache.http.protocol.BasicHttpContext;
import org.junit.jupiter.api.Test;

class LazyTlsSocketFactoryTest {

    @Test
    void tls_is_set_up_on_the_first_https_socket_not_before() throws Exception {
        LazyTlsSocketFactory factory = new LazyTlsSocketFactory();
        assertFalse(factory.initialised());
        try (Socket socket = factory.createSocket(new BasicHttpContext())) {
            assertTrue(factory.initialised());
            assertFalse(socket.isConnected());
        }
    }
}
