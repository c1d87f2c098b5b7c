package loop

import (
	"crypto/tls"
	"errors"
	"time"
)

// ListenTLS opens the TLS engine on cfg.Host:cfg.Port (issue #3): every accepted connection is
// handed to its own goroutine, which runs the handshake (bounded by handshakeTimeout) and then
// drives the shared conn code, so a handshake never blocks the reactor or another client.
func ListenTLS(cfg Config, tlsConfig *tls.Config, handshakeTimeout time.Duration) (Engine, error) {
	return nil, errors.New("TLS is not implemented yet")
}

// ServerTLSConfig loads a certificate pair into a server configuration: TLS 1.2 or newer,
// modern AEAD cipher suites, ALPN http/1.1.
func ServerTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	return nil, errors.New("TLS is not implemented yet")
}

// DevCertificate returns the development certificate and key in dir, creating them with
// crypto/x509 when missing (no openssl needed).
func DevCertificate(dir string) (certFile, keyFile string, err error) {
	return "", "", errors.New("TLS is not implemented yet")
}
