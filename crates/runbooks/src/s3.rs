//! Amazon S3's two read calls the function makes, ListObjectsV2 and GetObject, as REST
//! requests signed with SigV4 ([`common::sigv4::RequestSigner::for_s3`]) and sent with the
//! shared reqwest client, and the few XML elements their answers need.
//!
//! Why not the S3 SDK: measured on this crate, `aws-sdk-s3` put the x86_64 zip at 3.16 MB
//! (3,311,305 bytes), over the 3 MB target, for two GET requests (its checksum crates, its
//! XML layer, its hundred operations); docs/measurements.md has the numbers.
//!
//! **Addressing.** With an endpoint from the environment (`AWS_ENDPOINT_URL_S3`, else the
//! SDK configuration's `AWS_ENDPOINT_URL`: how the tests point the function at moto on
//! loopback) requests are path-style, `<endpoint>/<bucket>/<key>`, as the SDK's
//! `force_path_style` does. Against AWS they are virtual-hosted
//! (`https://<bucket>.s3.<region>.amazonaws.com/<key>`), which S3 prefers, but for a bucket
//! whose name has a dot, which would not match the wildcard certificate and goes path-style.
//!
//! **Reading.** A list page is read whole up to [`MAX_PAGE_BYTES`] (a page of 1,000 keys is
//! well under 1 MB); an object is asked for with a `Range` of the bytes wanted and read no
//! further than that even if the server sends more, so a large object never fills memory.
//!
//! **Failures.** Transport failures become envelopes here ([`ToolError::from_reqwest`]); S3's
//! own refusals come back as [`S3Error`] (status, `Code`, `Message`, the bucket's region if
//! S3 said), for the caller to name the bucket, key and IAM action involved.

use common::{ErrorCode, ToolError, sigv4::RequestSigner};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The service, as messages name it.
pub const SERVICE: &str = "Amazon S3";
/// Largest list page read: far above a real page of 1,000 keys.
pub const MAX_PAGE_BYTES: usize = 4 << 20;
/// Largest error document read.
const MAX_ERROR_BYTES: usize = 64 << 10;

/// Bytes of a key left as they are in a path: RFC 3986's unreserved characters and `/`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// A configured endpoint (moto, a VPC endpoint URL): path-style.
    Custom(String),
    /// S3's own regional endpoint.
    Aws {
        /// The function's region.
        region: String,
    },
}

/// An S3 client for the two calls: a signer with S3's rules and an endpoint.
#[derive(Debug)]
pub struct S3 {
    http: reqwest::Client,
    signer: RequestSigner,
    endpoint: Endpoint,
}

/// One object of a list page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, as S3 says it (RFC 3339).
    pub last_modified: Option<String>,
}

/// One ListObjectsV2 page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The objects, in key order.
    pub objects: Vec<Object>,
    /// The token of the next page, if S3 has more.
    pub next: Option<String>,
}

/// The first bytes of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// At most the bytes asked for.
    pub bytes: Vec<u8>,
    /// The object's whole size, when S3 said (`Content-Range`, or `Content-Length` of a
    /// whole-object answer).
    pub total: Option<u64>,
    /// `Last-Modified`, as S3 sent it (an HTTP date).
    pub last_modified: Option<String>,
}

/// S3's refusal of a request: its HTTP status and what its error document said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The HTTP status.
    pub status: u16,
    /// `<Code>`: `NoSuchBucket`, `NoSuchKey`, `AccessDenied`, `SlowDown`, …
    pub code: Option<String>,
    /// `<Message>`, cleaned and cut to a sentence.
    pub message: Option<String>,
    /// The bucket's region (`x-amz-bucket-region`), which S3 sends when the request went to
    /// the wrong one.
    pub bucket_region: Option<String>,
}

/// Why a call failed: a transport failure already mapped to the envelope, or S3's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No usable answer (connection, TLS, timeout, signing, an unreadable body).
    Transport(ToolError),
    /// S3 answered with an error status.
    S3(S3Error),
}

impl From<ToolError> for Failure {
    fn from(error: ToolError) -> Self {
        Self::Transport(error)
    }
}

impl S3 {
    /// A client sending with `http`, signing with `signer` (which [`Self::new`] switches to
    /// S3's rules), to `endpoint` if given (path-style), else to S3 in the signer's region.
    pub fn new(http: reqwest::Client, signer: RequestSigner, endpoint: Option<String>) -> Self {
        let endpoint = match endpoint {
            Some(url) => Endpoint::Custom(url.trim().trim_end_matches('/').to_owned()),
            None => Endpoint::Aws {
                region: signer.region().to_owned(),
            },
        };
        Self {
            http,
            signer: signer.for_s3(),
            endpoint,
        }
    }

    /// A client with the SDK configuration's credentials chain and region, and its endpoint:
    /// `AWS_ENDPOINT_URL_S3`, else the configuration's endpoint URL (`AWS_ENDPOINT_URL`),
    /// else S3's own.
    pub fn from_sdk_config(
        http: reqwest::Client,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, ToolError> {
        let signer = RequestSigner::from_sdk_config(sdk, "s3", None)?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| sdk.endpoint_url().map(str::to_owned));
        Ok(Self::new(http, signer, endpoint))
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        self.signer.region()
    }

    /// The URL of `key` in `bucket` (an empty key: the bucket itself), with `query`.
    fn url(&self, bucket: &str, key: &str, query: &str) -> String {
        let key: String = utf8_percent_encode(key, KEY).collect();
        let mut url = match &self.endpoint {
            Endpoint::Custom(base) => format!("{base}/{bucket}/{key}"),
            Endpoint::Aws { region } => {
                let host = format!("s3.{region}.{}", dns_suffix(region));
                if bucket.contains('.') {
                    format!("https://{host}/{bucket}/{key}")
                } else {
                    format!("https://{bucket}.{host}/{key}")
                }
            }
        };
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// Signs and sends a GET of `url` with `headers`; an error status is read into
    /// [`Failure::S3`].
    async fn get(
        &self,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<reqwest::Response, Failure> {
        let mut builder = self.http.get(url);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut request = builder
            .build()
            .map_err(|_| ToolError::internal("could not build the request to Amazon S3"))?;
        self.signer.sign(&mut request).await?;
        let mut response = self
            .http
            .execute(request)
            .await
            .map_err(|e| ToolError::from_reqwest(SERVICE, &e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let bucket_region = header(&response, "x-amz-bucket-region");
        // A body too big or cut short still leaves the status to go by.
        let body = common::http::read_capped(&mut response, SERVICE, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        let (code, message) = error_document(&String::from_utf8_lossy(&body));
        Err(Failure::S3(S3Error {
            status,
            code,
            message,
            bucket_region,
        }))
    }

    /// One ListObjectsV2 page of the keys under `prefix`, at most `max_keys`, from `token`.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        max_keys: u32,
        token: Option<&str>,
    ) -> Result<Page, Failure> {
        let max_keys = max_keys.to_string();
        let mut pairs = vec![
            ("list-type", "2"),
            ("max-keys", max_keys.as_str()),
            ("prefix", prefix),
        ];
        if let Some(token) = token {
            pairs.push(("continuation-token", token));
        }
        let url = self.url(bucket, "", &common::http::form_encode(pairs));
        let mut response = self.get(&url, &[]).await?;
        let body = common::http::read_capped(&mut response, SERVICE, MAX_PAGE_BYTES)
            .await
            .map_err(|mut e| {
                if e.code == ErrorCode::PayloadTooLarge {
                    // Not the caller's request: S3 never sends a page that big.
                    e.code = ErrorCode::UpstreamError;
                    e.message = format!(
                        "{SERVICE} answered ListObjectsV2 with more than {MAX_PAGE_BYTES} bytes, which is not a list page"
                    );
                }
                e
            })?;
        parse_list(&String::from_utf8_lossy(&body)).ok_or_else(|| {
            Failure::Transport(ToolError::new(
                ErrorCode::UpstreamError,
                format!("{SERVICE} sent a ListObjectsV2 answer that could not be read"),
            ))
        })
    }

    /// The first `max_bytes` bytes of `key` (fewer if it is shorter), and its whole size.
    pub async fn get_first(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: usize,
    ) -> Result<Fetched, Failure> {
        let url = self.url(bucket, key, "");
        let range = format!("bytes=0-{}", max_bytes.saturating_sub(1));
        let mut response = match self.get(&url, &[("range", range)]).await {
            Ok(response) => response,
            // The one range an empty object cannot satisfy: it has no first byte.
            Err(Failure::S3(S3Error { status: 416, .. })) => {
                return Ok(Fetched {
                    bytes: Vec::new(),
                    total: Some(0),
                    last_modified: None,
                });
            }
            Err(e) => return Err(e),
        };
        let total = if response.status().as_u16() == 206 {
            header(&response, "content-range")
                .and_then(|r| r.rsplit('/').next().and_then(|t| t.parse().ok()))
        } else {
            response.content_length()
        };
        let last_modified = header(&response, "last-modified");
        let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(max_bytes as u64) as usize);
        while bytes.len() < max_bytes {
            let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| ToolError::from_reqwest(SERVICE, &e))?
            else {
                break;
            };
            let room = max_bytes - bytes.len();
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Ok(Fetched {
            bytes,
            total,
            last_modified,
        })
    }
}

/// S3's DNS suffix in `region`'s partition.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The text of every `<tag>…</tag>` in `xml`, in order. S3's answers escape `<` in text, so
/// the first closing tag after an opening one ends it; an element with attributes or
/// written empty (`<tag/>`) is not one S3 sends for the elements read here.
fn elements<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let text = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(text)
    })
}

fn first<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    elements(xml, tag).next()
}

/// XML text with its five entities and numeric character references resolved.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A ListObjectsV2 answer: its objects and next token; `None` if it is not one (no
/// `ListBucketResult`, an object without a key or size, a truncated list without a token).
pub fn parse_list(xml: &str) -> Option<Page> {
    if !xml.contains("<ListBucketResult") {
        return None;
    }
    let mut objects = Vec::new();
    for contents in elements(xml, "Contents") {
        objects.push(Object {
            key: unescape(first(contents, "Key")?),
            size: first(contents, "Size")?.trim().parse().ok()?,
            last_modified: first(contents, "LastModified").map(|t| unescape(t.trim())),
        });
    }
    // The answer's own flag: the elements inside `<Contents>` never include it.
    let truncated = first(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = if truncated {
        Some(unescape(first(xml, "NextContinuationToken")?)).filter(|t| !t.is_empty())
    } else {
        None
    };
    if truncated && next.is_none() {
        return None;
    }
    Some(Page { objects, next })
}

/// The `<Code>` and `<Message>` of an S3 error document, if it is one.
pub fn error_document(xml: &str) -> (Option<String>, Option<String>) {
    let Some(error) = first(xml, "Error") else {
        return (None, None);
    };
    let code = first(error, "Code")
        .map(|c| unescape(c.trim()))
        .filter(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()));
    let message = first(error, "Message")
        .map(|m| common::text::clean(&unescape(m), 300))
        .filter(|m| !m.is_empty());
    (code, message)
}

#[cfg(test)]
mod tests {
    use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};

    use super::*;

    fn client(endpoint: Option<&str>, region: &str) -> S3 {
        S3::new(
            common::http::client("test").unwrap(),
            RequestSigner::new(
                SharedCredentialsProvider::new(Credentials::new("a", "b", None, None, "t")),
                region,
                "s3",
            ),
            endpoint.map(str::to_owned),
        )
    }

    #[test]
    fn urls_are_path_style_on_a_configured_endpoint_and_virtual_hosted_on_aws() {
        let moto = client(Some("http://127.0.0.1:5000/"), "us-east-1");
        assert_eq!(
            moto.url("book", "runbooks/Node NotReady+1.md", ""),
            "http://127.0.0.1:5000/book/runbooks/Node%20NotReady%2B1.md"
        );
        assert_eq!(
            moto.url("book", "", "list-type=2"),
            "http://127.0.0.1:5000/book/?list-type=2"
        );
        let aws = client(None, "eu-west-1");
        assert_eq!(
            aws.url("team-runbooks", "runbooks/é.md", ""),
            "https://team-runbooks.s3.eu-west-1.amazonaws.com/runbooks/%C3%A9.md"
        );
        // A dotted name would not match *.s3.<region>.amazonaws.com's certificate.
        assert_eq!(
            aws.url("runbooks.example.com", "a.md", ""),
            "https://s3.eu-west-1.amazonaws.com/runbooks.example.com/a.md"
        );
        assert_eq!(
            client(None, "cn-north-1").url("b", "a.md", ""),
            "https://b.s3.cn-north-1.amazonaws.com.cn/a.md"
        );
    }

    #[test]
    fn a_list_page_gives_its_objects_and_next_token() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>book</Name><Prefix>runbooks/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>runbooks/a&amp;b.md</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>120</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>runbooks/notes.txt</Key><LastModified>2026-01-02T00:00:00.000Z</LastModified><Size>7</Size></Contents>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>"#;
        let page = parse_list(xml).unwrap();
        assert_eq!(
            page.objects,
            [
                Object {
                    key: "runbooks/a&b.md".into(),
                    size: 120,
                    last_modified: Some("2026-01-01T00:00:00.000Z".into()),
                },
                Object {
                    key: "runbooks/notes.txt".into(),
                    size: 7,
                    last_modified: Some("2026-01-02T00:00:00.000Z".into()),
                },
            ]
        );
        assert_eq!(
            page.next.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
        let last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(
            parse_list(last),
            Some(Page {
                objects: vec![],
                next: None
            })
        );
    }

    #[test]
    fn what_is_not_a_list_page_is_refused() {
        for xml in [
            "",
            "{\"Contents\": [",
            "<Error><Code>NoSuchBucket</Code></Error>",
            // Truncated, with no way to ask for the rest.
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a.md</Key></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a.md</Key><Size>x</Size></Contents></ListBucketResult>",
        ] {
            assert_eq!(parse_list(xml), None, "{xml}");
        }
    }

    #[test]
    fn error_documents_give_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName></Error>";
        assert_eq!(
            error_document(xml),
            (
                Some("NoSuchBucket".into()),
                Some("The specified bucket does not exist".into())
            )
        );
        assert_eq!(error_document("{}"), (None, None));
        assert_eq!(
            error_document("<Error><Code>No Such</Code><Message>\u{202E}x\n y</Message></Error>"),
            (None, Some("x y".into()))
        );
    }

    #[test]
    fn entities_are_resolved_and_stray_ampersands_kept() {
        assert_eq!(
            unescape("a&amp;b &lt;c&gt; &#233;&#x41; &quot;&apos;"),
            "a&b <c> éA \"'"
        );
        assert_eq!(
            unescape("R&D; & more &bogus; &#xZZ;"),
            "R&D; & more &bogus; &#xZZ;"
        );
    }
}
