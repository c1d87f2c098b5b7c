package loop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"ownhttp/internal/atomicfile"
)

// Development certificate files, inside the directory given to DevCertificate.
const (
	DevCertFile = "dev-cert.pem"
	DevKeyFile  = "dev-key.pem"
)

const (
	devCertValidity = 365 * 24 * time.Hour
	// devCertRenewBefore: an existing certificate this close to its end is replaced.
	devCertRenewBefore = 7 * 24 * time.Hour
)

// DevCertificate returns the development certificate and key in dir (dev-cert.pem and
// dev-key.pem), creating them with crypto/x509 when missing (no openssl needed): a
// self-signed ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1, valid for a year.
// Existing files are reused while they load as a matching pair and stay valid for at least
// another week; otherwise both are replaced. Each file is written atomically (a temporary
// file renamed into place); the key is readable by its owner only (0600). dir is created
// (0700) when missing.
func DevCertificate(dir string) (certFile, keyFile string, err error) {
	return devCertificate(dir, time.Now())
}

func devCertificate(dir string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, DevCertFile), filepath.Join(dir, DevKeyFile)
	if devCertUsable(certFile, keyFile, now) {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := newDevCert(now)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	// The key first: a crash between the two renames leaves a pair that does not match,
	// which the next call replaces.
	if err := atomicfile.Write(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// devCertUsable reports whether certFile and keyFile load as a matching pair whose
// certificate is valid now and for at least devCertRenewBefore more.
func devCertUsable(certFile, keyFile string, now time.Time) bool {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil || pair.Leaf == nil {
		return false
	}
	return !now.Before(pair.Leaf.NotBefore) && now.Add(devCertRenewBefore).Before(pair.Leaf.NotAfter)
}

// newDevCert makes a self-signed server certificate for the local machine and its key, both
// PEM-encoded.
func newDevCert(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"ownhttp development"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour), // tolerate a client clock slightly behind
		NotAfter:              now.Add(devCertValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
