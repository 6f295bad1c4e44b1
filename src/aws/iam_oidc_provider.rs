//! The provider of `iam_oidc_provider`. Its id is its ARN, which IAM makes from
//! the URL (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`): one provider per
//! URL in an account. Client ids and tags change in place.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::iam_role::iam_tags;
use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value};
use crate::types::iam_oidc_provider as ty;
use crate::types::{Attrs, AttrsExt};

pub struct IamOidcProvider(pub Arc<Aws>);

/// The URL as IAM takes it at creation, with its scheme.
fn https(url: &str) -> String {
    if url.starts_with("https://") { url.to_string() } else { format!("https://{url}") }
}

/// What IAM computes of a provider made from `asked`: its ARN, and the URL
/// without its scheme, which is also the issuer.
fn computed(arn: &str, asked: &Attrs) -> Attrs {
    let mut url = asked.clone();
    ty::canonical(&mut url);
    let url = url.get("url").cloned().unwrap_or_default();
    into_map(json!({"id": arn, "arn": arn, "url": url, "issuer": url}))
}

#[async_trait]
impl Provider for IamOidcProvider {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |arn| async move {
            let got = send!(
                aws.iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn),
                "GetOpenIDConnectProvider"
            )
            .or_gone()?;
            Ok(got.map(|p| {
                let url = p.url().unwrap_or_default().to_string();
                let attrs = into_map(json!({
                    "id": arn,
                    "arn": arn,
                    "url": url,
                    "issuer": url,
                    "client_ids": p.client_id_list(),
                    "thumbprints": p.thumbprint_list(),
                    "tags": tags_value(p.tags().iter().map(|t| (t.key(), t.value()))),
                }));
                (arn.clone(), attrs)
            }))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let tags = iam_tags(attrs.tags())?;
        let out = send!(
            self.0
                .iam
                .create_open_id_connect_provider()
                .url(https(attrs.str("url")?))
                .set_client_id_list(attrs.opt_strings("client_ids"))
                .set_thumbprint_list(attrs.opt_strings("thumbprints"))
                .set_tags(Some(tags)),
            "CreateOpenIDConnectProvider"
        )?;
        let arn = out.open_id_connect_provider_arn().unwrap_or_default();
        // Made with what was asked (its tags too): the id and ARN are its
        // ARN, the issuer its URL as IAM keeps it.
        Ok(Made::asked(arn, attrs, computed(arn, attrs)))
    }

    /// Its ARN (the id) and issuer (the URL as IAM keeps it, without scheme).
    async fn settled(&self, id: &str, asked: &Attrs) -> Result<Option<Attrs>> {
        Ok(Some(computed(id, asked)))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let iam = &self.0.iam;
        if let Some(now) = after.opt_strings("client_ids") {
            let was = before.opt_strings("client_ids").unwrap_or_default();
            for add in now.iter().filter(|c| !was.contains(c)) {
                send!(
                    iam.add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(id)
                        .client_id(add),
                    "AddClientIDToOpenIDConnectProvider"
                )?;
            }
            for gone in was.iter().filter(|c| !now.contains(c)) {
                send!(
                    iam.remove_client_id_from_open_id_connect_provider()
                        .open_id_connect_provider_arn(id)
                        .client_id(gone),
                    "RemoveClientIDFromOpenIDConnectProvider"
                )?;
            }
        }
        if let Some(now) = after.opt_strings("thumbprints")
            && before.opt_strings("thumbprints").unwrap_or_default() != now
        {
            send!(
                iam.update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(id)
                    .set_thumbprint_list(Some(now)),
                "UpdateOpenIDConnectProviderThumbprint"
            )?;
        }
        tags::sync(&tags::IamOidcProvider, &self.0, id, before, after).await?;
        Ok(())
    }

    /// The provider of this URL, if the account has one (there is at most one).
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let mut want = attrs.clone();
        ty::canonical(&mut want);
        let url = want.str("url")?.to_string();
        let list =
            send!(self.0.iam.list_open_id_connect_providers(), "ListOpenIDConnectProviders")?;
        Ok(list
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .filter(|arn| arn.ends_with(&format!(":oidc-provider/{url}")))
            .map(str::to_string)
            .collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(
            self.0.iam.delete_open_id_connect_provider().open_id_connect_provider_arn(id),
            "DeleteOpenIDConnectProvider"
        )
        .or_gone()?;
        Ok(())
    }
}
