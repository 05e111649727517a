//! The dashboard's files as the server serves them: the page for any dashboard path (so a
//! `confirm_url` opens directly), the assets with their types, and the security headers that
//! keep any script but its own off the page.

use reqwest::StatusCode;
use switchboard_tests::spawn_app;

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_policy() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: &str| client.get(format!("{}{path}", app.base)).send();

    let bare = get("/dashboard").await.expect("request");
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers()["location"], "/dashboard/");

    for path in [
        "/dashboard/",
        "/dashboard/confirm/msg_01J00000000000000000000000",
    ] {
        let page = get(path).await.expect("request");
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_string();
        for rule in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{rule} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        let html = page.text().await.expect("body");
        assert!(html.contains(r#"<script type="module" src="/dashboard/assets/app.js">"#));
        assert!(!html.contains("<script>"), "no inline script");
    }

    let script = get("/dashboard/assets/pages/confirm.js")
        .await
        .expect("request");
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let missing = get("/dashboard/assets/nothing.js").await.expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
