// Package signedurl verifies (and creates) CloudFront-compatible signed URLs
// and signed cookies, so that code already signing for Amazon CloudFront can
// sign for the Osprey edge unchanged.
//
// A signed request carries a policy, a signature and a key pair id, either in
// query parameters or in cookies:
//
//   - canned policy: Expires (Unix seconds), Signature, Key-Pair-Id; the
//     policy is implied: {"Statement":[{"Resource":"<the URL without the
//     signing parameters>","Condition":{"DateLessThan":{"AWS:EpochTime":<Expires>}}}]}
//   - custom policy: Policy (the JSON policy, base64), Signature, Key-Pair-Id;
//     the policy may name a wildcard Resource ('*' any run of characters,
//     '?' exactly one), a start time (DateGreaterThan) and a client address
//     range (IpAddress AWS:SourceIp).
//   - Hash-Algorithm=SHA256 selects RSA-SHA256 signatures; without it (or
//     with SHA1) the signature is RSA-SHA1, PKCS #1 v1.5 in both cases.
//   - cookies: CloudFront-Expires or CloudFront-Policy, CloudFront-Signature,
//     CloudFront-Key-Pair-Id and optionally CloudFront-Hash-Algorithm.
//
// Policies and signatures use base64 with '+', '=' and '/' replaced by '-',
// '_' and '~'. A signed URL wins over signed cookies when a request has both.
//
// Sources: the CloudFront Developer Guide pages "Create a signed URL using a
// canned policy", "... using a custom policy", "Set signed cookies using a
// canned policy", "... using a custom policy" and "Code examples for creating
// a signature for a signed URL" (docs.aws.amazon.com/AmazonCloudFront/latest/
// DeveloperGuide/), and the AWS SDK for Go v2 feature/cloudfront/sign.
package signedurl
