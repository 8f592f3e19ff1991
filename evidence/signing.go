package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files of the installation's signing key, in the archive folder. Each
// bundle's manifest is signed with the private key; the public key goes
// into every bundle and is shown in the UI, so a bundle can be checked
// against the key the installation published.
const (
	signingKeyFile = "signing-key.pem"
	PublicKeyFile  = "signing-key.pub.pem"
)

// BundleSignature is the bundle file holding the manifest's Ed25519
// signature (the raw 64 bytes), and BundlePublicKey the key it verifies
// with (PEM, SubjectPublicKeyInfo).
const (
	BundleSignature = BundleManifest + ".sig"
	BundlePublicKey = PublicKeyFile
)

// loadSigningKey reads the installation's Ed25519 key from dir, creating
// it (0600) when there is none.
func loadSigningKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, signingKeyFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSigningKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("evidence: %s: expected a PEM \"PRIVATE KEY\" block (PKCS #8 Ed25519)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("evidence: %s: expected an Ed25519 key, found %T", path, k)
	}
	if err := writePublicKey(dir, priv.Public().(ed25519.PublicKey)); err != nil {
		return nil, err
	}
	return priv, nil
}

// createSigningKey makes the key and puts it in place only if no other
// process did meanwhile: several nodes sharing the folder may start at
// once, and each must end up with the same key. The file is written whole
// under a name of its own, then linked to its final name, which fails
// when that exists; the loser reads the winner's key.
func createSigningKey(dir string) (ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	path := filepath.Join(dir, signingKeyFile)
	tmp := fmt.Sprintf("%s.%d-%s.tmp", path, os.Getpid(), randomHex())
	if err := writeSynced(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	err = os.Link(tmp, path)
	os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return loadSigningKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: signing key: %w", err)
	}
	if err := writePublicKey(dir, pub); err != nil {
		return nil, err
	}
	return priv, syncDir(dir)
}

// writeSynced writes data to the new file path (0600) and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// writePublicKey keeps the public key's PEM beside the private key, for
// operators to publish. It is replaced by a rename, so a reader (or
// another node writing the same key) never sees half of it.
func writePublicKey(dir string, pub ed25519.PublicKey) error {
	b, err := PublicKeyPEM(pub)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, PublicKeyFile)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	tmp := fmt.Sprintf("%s.%d-%s.tmp", path, os.Getpid(), randomHex())
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("evidence: public key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("evidence: public key: %w", err)
	}
	return nil
}

// PublicKeyPEM encodes an Ed25519 public key as a PEM "PUBLIC KEY" block.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("evidence: public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKey returns the installation's signing public key.
func (a *Archive) PublicKey() ed25519.PublicKey { return a.key.Public().(ed25519.PublicKey) }

// KeyFingerprint is the SHA-256 of the public key's DER form, in hex: what
// the UI shows so a bundle's key can be compared at a glance.
func KeyFingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// VerifyManifest checks a bundle's manifest against its signature and the
// PEM public key.
func VerifyManifest(manifest, sig, pubPEM []byte) error {
	blk, _ := pem.Decode(pubPEM)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return errors.New("evidence: public key: expected a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return fmt.Errorf("evidence: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("evidence: public key: expected Ed25519, found %T", k)
	}
	if !ed25519.Verify(pub, manifest, sig) {
		return errors.New("evidence: the manifest's signature does not verify with this key")
	}
	return nil
}
