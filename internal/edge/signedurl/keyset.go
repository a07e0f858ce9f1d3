package signedurl

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// MinKeyBits is the smallest RSA modulus accepted. CloudFront uses
// RSA-2048; 1024 is accepted for old key pairs.
const MinKeyBits = 1024

// KeySet holds trusted public keys by key-pair id (several at once, for
// rotation). It is safe for concurrent use; the zero value is empty and
// ready.
type KeySet struct {
	mu   sync.RWMutex
	keys map[string]*rsa.PublicKey
}

// NewKeySet returns an empty KeySet.
func NewKeySet() *KeySet { return &KeySet{} }

// Add trusts an RSA public key (*rsa.PublicKey or rsa.PublicKey) of at
// least MinKeyBits under id. Other key types, a duplicate id or an id with
// spaces or control characters are errors.
func (ks *KeySet) Add(id string, pub crypto.PublicKey) error {
	if err := checkKeyID(id); err != nil {
		return err
	}
	var k *rsa.PublicKey
	switch p := pub.(type) {
	case *rsa.PublicKey:
		k = p
	case rsa.PublicKey:
		k = &p
	case *rsa.PrivateKey, rsa.PrivateKey:
		return fmt.Errorf("key pair %q: got a private key; trust the public key only", id)
	default:
		return fmt.Errorf("key pair %q: %T is not an RSA public key (CloudFront-compatible signing uses RSA)", id, pub)
	}
	if k == nil || k.N == nil {
		return fmt.Errorf("key pair %q: empty RSA key", id)
	}
	if bits := k.N.BitLen(); bits < MinKeyBits {
		return fmt.Errorf("key pair %q: RSA key has %d bits; at least %d are needed", id, bits, MinKeyBits)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if _, dup := ks.keys[id]; dup {
		return fmt.Errorf("key pair %q: already trusted", id)
	}
	if ks.keys == nil {
		ks.keys = make(map[string]*rsa.PublicKey)
	}
	ks.keys[id] = k
	return nil
}

// AddPEM trusts the key in PEM data: a "PUBLIC KEY" (PKIX), an "RSA PUBLIC
// KEY" (PKCS #1) or a "CERTIFICATE" block. The first such block is used;
// blocks of other types are skipped.
func (ks *KeySet) AddPEM(id string, pemData []byte) error {
	rest := pemData
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return fmt.Errorf("key pair %q: no PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE PEM block found", id)
		}
		var pub crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return fmt.Errorf("key pair %q: PEM holds a private key; give the public key (openssl pkey -in key.pem -pubout)", id)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("key pair %q: parsing %s: %w", id, block.Type, err)
		}
		return ks.Add(id, pub)
	}
}

// AddSpec parses a --trusted-key flag value "ID=PATH.pem" and adds the key
// read from PATH.
func (ks *KeySet) AddSpec(spec string) error {
	id, path, ok := strings.Cut(spec, "=")
	if !ok || id == "" || path == "" {
		return fmt.Errorf("trusted key %q: want ID=PATH.pem, e.g. K2JCJMDEHXQW5F=/etc/osprey/cf-public.pem", spec)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("trusted key %q: %w", id, err)
	}
	return ks.AddPEM(id, data)
}

// Remove stops trusting id and reports whether it was trusted.
func (ks *KeySet) Remove(id string) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	_, ok := ks.keys[id]
	delete(ks.keys, id)
	return ok
}

// Len returns the number of trusted keys.
func (ks *KeySet) Len() int {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return len(ks.keys)
}

// IDs returns the trusted key-pair ids, sorted.
func (ks *KeySet) IDs() []string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	ids := make([]string, 0, len(ks.keys))
	for id := range ks.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// lookup returns the key trusted under id, or nil.
func (ks *KeySet) lookup(id string) *rsa.PublicKey {
	if ks == nil {
		return nil
	}
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[id]
}

// checkKeyID accepts printable ASCII without spaces, the characters a
// query parameter and a cookie can both carry unchanged.
func checkKeyID(id string) error {
	if id == "" {
		return fmt.Errorf("empty key pair id")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\' {
			return fmt.Errorf("key pair id %q: only printable ASCII without spaces, ';', ',', '\"' or '\\' is allowed", id)
		}
	}
	return nil
}
