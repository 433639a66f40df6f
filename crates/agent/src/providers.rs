//! The model the configuration names (`model/provider`): one [`Model`] that hands each
//! request to Amazon Bedrock or to an OpenAI-compatible server. Each provider's client is
//! built on its first request, so the one not configured costs nothing.

use crate::{
    bedrock::Bedrock,
    model::{Model, ModelError, ModelReply, ModelRequest, OnText, Provider},
    openai::OpenAiCompatible,
};

/// Bedrock and the OpenAI-compatible provider behind one [`Model`].
#[derive(Debug, Default)]
pub struct Providers {
    /// Used for `model/provider` `bedrock` (the default).
    pub bedrock: Bedrock,
    /// Used for `model/provider` `openai`.
    pub openai: OpenAiCompatible,
}

impl Providers {
    /// Both providers, with clients built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// The given providers (tests point their clients at doubles).
    pub fn with(bedrock: Bedrock, openai: OpenAiCompatible) -> Self {
        Self { bedrock, openai }
    }
}

impl Model for Providers {
    async fn converse(&self, request: &ModelRequest<'_>) -> Result<ModelReply, ModelError> {
        match request.inference.provider {
            Provider::Bedrock => self.bedrock.converse(request).await,
            Provider::OpenAi { .. } => self.openai.converse(request).await,
        }
    }

    async fn converse_stream<'a>(
        &'a self,
        request: &'a ModelRequest<'a>,
        on_text: OnText<'a>,
    ) -> Result<ModelReply, ModelError> {
        match request.inference.provider {
            Provider::Bedrock => self.bedrock.converse_stream(request, on_text).await,
            Provider::OpenAi { .. } => self.openai.converse_stream(request, on_text).await,
        }
    }
}
