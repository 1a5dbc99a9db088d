//! `/kaltura link|unlink|whoami`: a member's own Kaltura identity.

use super::{COLOR, Call, Options, code};
use crate::commands::reply::{ActionRow, Button, Embed, Reply};
use crate::error::LinkRefusal;
use crate::identity::{DiscordMember, IdentityService, IdentitySource};
use crate::rbac::{Permission, authorize, effective_role};
use crate::{Error, Result};

/// What the member is told when a link needs proof and no identity-proof page is set up.
pub(crate) const HOW_TO_GET_PROOF: &str =
    "Ask a server admin to assign it to you with `/kaltura-admin identity link`.";

/// What the member is told when the gateway's identity-proof page is set up.
pub(crate) const HOW_TO_PROVE_ON_THE_PAGE: &str = "Open the page below and sign in with your Kaltura login to prove it (your password goes to Kaltura, never through Discord), or ask a server admin to assign it with `/kaltura-admin identity link`.";

/// `/kaltura link kaltura_user`.
pub(crate) async fn link(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    let opts = opts.only(&["kaltura_user"])?;
    let kaltura_user = opts.required_string("kaltura_user")?;
    let result = call
        .partner
        .identity
        .link(
            call.guild,
            call.config(),
            &call.subject(),
            call.user(),
            kaltura_user,
            None,
        )
        .await;
    match result {
        Ok(link) => Ok(Reply::text(format!(
            "You are now linked to Kaltura user `{}`.",
            code(link.kaltura_user.as_str(), 100)
        ))
        .ephemeral()),
        Err(Error::LinkRefused {
            kaltura_user,
            reason: LinkRefusal::NoProof,
        }) => Ok(match &call.engine.identity_page {
            Some(page) => {
                let mut url = page.clone();
                url.query_pairs_mut()
                    .append_pair("guild_id", &call.guild.to_string());
                Reply::text(format!(
                    "Linking you to Kaltura user `{}` needs proof that it is yours. {HOW_TO_PROVE_ON_THE_PAGE}",
                    code(&kaltura_user, 100)
                ))
                .row(ActionRow::Buttons(vec![Button::Link {
                    label: "Prove it's yours".to_owned(),
                    url: url.to_string(),
                }]))
                .ephemeral()
            }
            None => Reply::text(format!(
                "Linking you to Kaltura user `{}` needs proof that it is yours. {HOW_TO_GET_PROOF}",
                code(&kaltura_user, 100)
            ))
            .ephemeral(),
        }),
        Err(e) => Err(e),
    }
}

/// `/kaltura unlink`.
pub(crate) async fn unlink(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    opts.only(&[])?;
    let removed = call
        .partner
        .identity
        .unlink(call.guild, call.config(), &call.subject(), call.user())
        .await?;
    Ok(Reply::text(if removed {
        "Your link to a Kaltura user has been removed."
    } else {
        "You were not linked to a Kaltura user."
    })
    .ephemeral())
}

/// `/kaltura whoami`: the Kaltura user the member acts as (without creating it), their role
/// and permissions in this server.
pub(crate) async fn whoami(call: &Call<'_>, opts: Options<'_>) -> Result<Reply> {
    opts.only(&[])?;
    let config = call.config();
    let identity = &call.partner.identity;
    let scope = identity.scope(call.guild, &config.identity)?;
    let kaltura = match call
        .engine
        .identity_store
        .find_by_discord(scope, call.user())
        .await?
    {
        Some(link) => format!(
            "`{}` (linked <t:{}:R>)",
            code(link.kaltura_user.as_str(), 100),
            link.linked_at
        ),
        None => {
            let member = DiscordMember {
                user: call.user(),
                display_name: call.ctx.invoker.display_name.clone(),
                email: None,
            };
            match IdentityService::strategy_user_id(&config.identity, &member) {
                Ok((id, IdentitySource::PrefixedId | IdentitySource::Email)) => {
                    format!("`{}` (from your Discord id)", code(id.as_str(), 100))
                }
                Ok((id, IdentitySource::Linked)) => format!("`{}`", code(id.as_str(), 100)),
                Err(_) => "none yet: link one with `/kaltura link`".to_owned(),
            }
        }
    };
    let subject = call.subject();
    let role = match effective_role(&config.rbac, &subject) {
        Some((role, rule)) => format!("{role} ({rule})"),
        None => "none".to_owned(),
    };
    let allowed: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| authorize(&config.rbac, &subject, **p).allowed)
        .map(|p| p.as_str())
        .collect();
    let mut embed = Embed::titled("Who you are here")
        .field("Kaltura user", kaltura, false)
        .field("Role", role, true)
        .field(
            "Permissions",
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            },
            false,
        );
    embed.color = Some(COLOR);
    Ok(Reply::default().embed(embed).ephemeral())
}
