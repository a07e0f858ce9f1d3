package signedurl_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// verifyAt verifies rawURL at testNow from a fixed client.
func verifyAt(t *testing.T, ks *signedurl.KeySet, rawURL string) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	v := &signedurl.Verifier{Keys: ks, Now: func() time.Time { return testNow }}
	return v.Verify(u, netip.MustParseAddr("203.0.113.9"), nil)
}

// opensslSigner returns a Signer with the private key of k, read by
// ParsePrivateKeyPEM.
func opensslSigner(t *testing.T, k osslKey, id string) signedurl.Signer {
	t.Helper()
	key, err := signedurl.ParsePrivateKeyPEM(k.privPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	return signedurl.Signer{KeyPairID: id, Key: key}
}

func TestKeyRotation(t *testing.T) {
	o := needOpenSSL(t)
	k1, k2 := o.genKey(t, "k1", 2048), o.genKey(t, "k2", 2048)
	ks := signedurl.NewKeySet()
	if err := ks.AddPEM("K1", k1.pubPEM(t)); err != nil {
		t.Fatal(err)
	}
	if err := ks.AddPEM("K2", k2.pubPEM(t)); err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 2 || strings.Join(ks.IDs(), ",") != "K1,K2" {
		t.Fatalf("Len %d, IDs %v", ks.Len(), ks.IDs())
	}
	s1, s2 := opensslSigner(t, k1, "K1"), opensslSigner(t, k2, "K2")
	u1, err := s1.SignURL(testBase, testExp)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := s2.SignURL(testBase, testExp)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{u1, u2} {
		if err := verifyAt(t, ks, u); err != nil {
			t.Fatalf("both keys trusted: %v", err)
		}
	}
	// K2's signature presented under K1's id.
	mixed := strings.Replace(u2, "Key-Pair-Id=K2", "Key-Pair-Id=K1", 1)
	if err := verifyAt(t, ks, mixed); !errors.Is(err, signedurl.ErrBadSignature) {
		t.Fatalf("K2 signature as K1: %v", err)
	}
	if !ks.Remove("K1") || ks.Remove("K1") {
		t.Fatal("Remove should report true once")
	}
	if err := verifyAt(t, ks, u1); !errors.Is(err, signedurl.ErrUnknownKey) {
		t.Fatalf("removed key: %v", err)
	}
	if err := verifyAt(t, ks, u2); err != nil {
		t.Fatalf("remaining key: %v", err)
	}
}

func TestKeyFormats(t *testing.T) {
	o := needOpenSSL(t)
	k := o.genKey(t, "k", 2048)
	o.run(t, `"$OPENSSL" rsa -in k.pem -RSAPublicKey_out -out k.pkcs1.pem 2>/dev/null &&
		"$OPENSSL" req -new -x509 -key k.pem -subj /CN=edge-test -days 2 -out k.crt 2>/dev/null &&
		"$OPENSSL" rsa -in k.pem -traditional -out k.rsa.pem 2>/dev/null &&
		"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null &&
		"$OPENSSL" pkey -in ec.pem -pubout -out ec.pub.pem &&
		"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:768 -out small.pem 2>/dev/null &&
		"$OPENSSL" pkey -in small.pem -pubout -out small.pub.pem &&
		"$OPENSSL" pkey -in k.pem -aes128 -passout pass:x -out k.enc.pem`)

	// Private keys: PKCS #8 and PKCS #1 both sign what openssl verifies.
	for _, f := range []string{"k.pem", "k.rsa.pem"} {
		key, err := signedurl.ParsePrivateKeyPEM(o.read(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		doc := cannedJSON(testBase, testExp.Unix())
		s := signedurl.Signer{KeyPairID: "K", Key: key}
		got, err := s.SignURL(testBase, testExp)
		if err != nil {
			t.Fatal(err)
		}
		if want := k.sign(t, "sha1", doc); !strings.Contains(got, "Signature="+want+"&") {
			t.Fatalf("%s: our signature differs from openssl's %s: %s", f, want, got)
		}
	}
	for _, f := range []string{"ec.pem", "k.enc.pem", "k.pub.pem", "small.pem"} {
		if _, err := signedurl.ParsePrivateKeyPEM(o.read(t, f)); err == nil {
			t.Errorf("ParsePrivateKeyPEM(%s) succeeded", f)
		}
	}

	// Public keys: PKIX, PKCS #1 and a certificate verify the same URL.
	s := opensslSigner(t, k, "K")
	signed, err := s.SignURL(testBase, testExp)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"k.pub.pem", "k.pkcs1.pem", "k.crt"} {
		ks := signedurl.NewKeySet()
		if err := ks.AddPEM("K", o.read(t, f)); err != nil {
			t.Fatalf("AddPEM(%s): %v", f, err)
		}
		if err := verifyAt(t, ks, signed); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// AddSpec reads ID=PATH.
	ks := signedurl.NewKeySet()
	if err := ks.AddSpec("K=" + o.path("k.pub.pem")); err != nil {
		t.Fatal(err)
	}
	if err := verifyAt(t, ks, signed); err != nil {
		t.Fatal(err)
	}

	bad := []struct {
		name string
		add  func(ks *signedurl.KeySet) error
		msg  string
	}{
		{"duplicate id", func(ks *signedurl.KeySet) error { return ks.AddSpec("K=" + o.path("k.pub.pem")) }, "already trusted"},
		{"EC key", func(ks *signedurl.KeySet) error { return ks.AddPEM("E", o.read(t, "ec.pub.pem")) }, "not an RSA public key"},
		{"small key", func(ks *signedurl.KeySet) error { return ks.AddPEM("S", o.read(t, "small.pub.pem")) }, "768 bits"},
		{"private key", func(ks *signedurl.KeySet) error { return ks.AddPEM("P", o.read(t, "k.pem")) }, "private key"},
		{"not PEM", func(ks *signedurl.KeySet) error { return ks.AddPEM("N", []byte("hello")) }, "no PUBLIC KEY"},
		{"spec without =", func(ks *signedurl.KeySet) error { return ks.AddSpec(o.path("k.pub.pem")) }, "want ID=PATH.pem"},
		{"spec empty id", func(ks *signedurl.KeySet) error { return ks.AddSpec("=" + o.path("k.pub.pem")) }, "want ID=PATH.pem"},
		{"spec missing file", func(ks *signedurl.KeySet) error { return ks.AddSpec("M=" + filepath.Join(o.dir, "nope.pem")) }, "nope.pem"},
		{"id with space", func(ks *signedurl.KeySet) error { return ks.AddSpec("A B=" + o.path("k.pub.pem")) }, "printable ASCII"},
		{"Go EC key", func(ks *signedurl.KeySet) error {
			ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return ks.Add("G", &ec.PublicKey)
		}, "not an RSA public key"},
	}
	for _, b := range bad {
		err := b.add(ks)
		if err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%s: error %v, want one containing %q", b.name, err, b.msg)
		}
	}
	if ks.Len() != 1 {
		t.Fatalf("failed adds changed the set: Len %d", ks.Len())
	}
	var zero signedurl.KeySet // the zero value is usable
	if err := zero.AddPEM("K", o.read(t, "k.pub.pem")); err != nil || zero.Len() != 1 {
		t.Fatalf("zero KeySet: %v, Len %d", err, zero.Len())
	}
}
