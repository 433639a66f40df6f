//! `common::sigv4` signs what reqwest sends, and botocore (an independent implementation
//! running in `stack/sigv4_verifier.py`) agrees on every signature, including PromQL with
//! spaces, `+`, `=~`, quotes, braces and unicode, in a query string and in a form body.

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use common::{http::form_encode, sigv4::RequestSigner};
use integration_tests::{
    http_client,
    moto::Moto,
    verifier::{ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SigV4Verifier},
};
use serde_json::Value;

const PROMQL: &str = r#"sum by (code) (rate(http_requests_total{job=~"api|web", path!="/a b+c", note="ünïcødé ✓ 'q'"}[5m])) + 1"#;

fn signer(token: bool) -> RequestSigner {
    let credentials = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        token.then(|| SESSION_TOKEN.to_owned()),
        None,
        "test",
    );
    RequestSigner::new(
        SharedCredentialsProvider::new(credentials),
        "eu-west-1",
        "aps",
    )
}

async fn send(client: &reqwest::Client, request: reqwest::Request) -> (u16, Value) {
    let response = client.execute(request).await.expect("verifier answers");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.expect("verifier answers JSON"),
    )
}

#[tokio::test]
async fn botocore_accepts_signed_gets_and_form_posts() {
    let client = http_client();
    for token in [true, false] {
        let verifier = SigV4Verifier::start("aps", "eu-west-1", token, None, None).unwrap();
        let signer = signer(token);

        // GET with PromQL in the query string (and a repeated key, as match[] uses).
        let query = form_encode([
            ("query", PROMQL),
            ("match[]", "up"),
            ("match[]", "{__name__=~\"http_.+\"}"),
            ("time", "1767225600.5"),
        ]);
        let url = format!("{}/workspaces/ws-1a2b/api/v1/query?{query}", verifier.url());
        let mut request = client.get(&url).build().unwrap();
        signer.sign(&mut request).await.unwrap();
        let (status, body) = send(&client, request).await;
        assert_eq!(status, 200, "token={token}: {body}\n{}", verifier.logs());
        assert_eq!(body["query"], query, "the query arrived as it was signed");

        // POST with the PromQL in a form body, as the Prometheus tools send it.
        let form = form_encode([("query", PROMQL), ("time", "now")]);
        let mut request = client
            .post(format!(
                "{}/workspaces/ws-1a2b/api/v1/query",
                verifier.url()
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .build()
            .unwrap();
        signer.sign(&mut request).await.unwrap();
        let (status, body) = send(&client, request).await;
        assert_eq!(status, 200, "token={token}: {body}");
        assert_eq!(body["body"], form);
        let signed: Vec<&str> = body["signed_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(signed.contains(&"content-type"), "{signed:?}");
        assert_eq!(
            signed.contains(&"x-amz-security-token"),
            token,
            "{signed:?}"
        );

        // An empty-bodied GET without a query.
        let mut request = client
            .get(format!(
                "{}/workspaces/ws-1a2b/api/v1/status/buildinfo",
                verifier.url()
            ))
            .build()
            .unwrap();
        signer.sign(&mut request).await.unwrap();
        assert_eq!(send(&client, request).await.0, 200);
    }
}

#[tokio::test]
async fn botocore_rejects_what_was_changed_after_signing() {
    let client = http_client();
    let verifier = SigV4Verifier::start("aps", "eu-west-1", true, None, None).unwrap();
    let signer = signer(true);
    let url = format!("{}/api/v1/query", verifier.url());

    // Body changed after signing.
    let mut request = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=up")
        .build()
        .unwrap();
    signer.sign(&mut request).await.unwrap();
    *request.body_mut() = Some("query=down".into());
    let (status, body) = send(&client, request).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("signature mismatch"))
    );

    // Query changed after signing.
    let mut request = client.get(format!("{url}?query=up")).build().unwrap();
    signer.sign(&mut request).await.unwrap();
    *request.url_mut() = format!("{url}?query=up2").parse().unwrap();
    assert_eq!(send(&client, request).await.0, 403);

    // A `+` meant literally but written raw would be read as a space by SigV4
    // canonicalisation: that is why queries are built with form_encode. Prove the hazard
    // is real, so the strict encoding is not ceremony.
    let mut request = client.get(format!("{url}?query=a+b")).build().unwrap();
    signer.sign(&mut request).await.unwrap();
    assert_eq!(
        send(&client, request).await.0,
        403,
        "a raw + is ambiguous and must not be sent"
    );

    // Signed for another service.
    let other = RequestSigner::new(
        SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            Some(SESSION_TOKEN.into()),
            None,
            "t",
        )),
        "eu-west-1",
        "execute-api",
    );
    let mut request = client.get(format!("{url}?query=up")).build().unwrap();
    other.sign(&mut request).await.unwrap();
    let (status, body) = send(&client, request).await;
    assert_eq!(status, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not eu-west-1/aps"),
        "{body}"
    );
}

#[tokio::test]
async fn a_signer_from_the_sdk_config_uses_its_credentials_and_region() {
    // The SDK configuration the tests give in-process clients carries moto's static
    // credentials ("testing") and us-east-1; the signer must pick up both.
    let sdk = Moto::sdk_config_for("http://127.0.0.1:9").await;
    let signer = RequestSigner::from_sdk_config(&sdk, "aps", None).unwrap();
    assert_eq!(signer.region(), "us-east-1");
    let mut request = http_client()
        .get("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/query?query=up")
        .build()
        .unwrap();
    signer.sign(&mut request).await.unwrap();
    let auth = request.headers()["authorization"].to_str().unwrap();
    assert!(
        auth.contains("Credential=testing/") && auth.contains("/us-east-1/aps/aws4_request"),
        "{auth}"
    );

    let eu = RequestSigner::from_sdk_config(&sdk, "aps", Some("eu-central-1")).unwrap();
    assert_eq!(eu.region(), "eu-central-1");
}
