//! The emulator holds 1,000 concurrent streams from the real Bedrock SDK without errors, and its
//! live-concurrency count goes back to zero afterwards.

mod support;

use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseStreamOutput, InferenceConfiguration, Message,
};
use llmcap::emulate::{Emulator, EmulatorConfig};
use support::{bedrock_client, fast_profile, FAST_MODEL};

const STREAMS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_streams_all_complete() {
    let emulator = Emulator::start(EmulatorConfig::new(fast_profile()))
        .await
        .unwrap();
    let client = bedrock_client(&emulator.url());
    // Every stream waits at this barrier after its first event, so all 1,000 are open at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(STREAMS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..STREAMS {
        let client = client.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            let message = Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text(format!("stream {i}")))
                .build()
                .unwrap();
            let mut out = client
                .converse_stream()
                .model_id(FAST_MODEL)
                .messages(message)
                .inference_config(InferenceConfiguration::builder().max_tokens(4).build())
                .send()
                .await
                .map_err(|e| format!("send: {e:?}"))?;
            let mut events = 0;
            let mut output_tokens = 0;
            while let Some(event) = out
                .stream
                .recv()
                .await
                .map_err(|e| format!("recv: {e:?}"))?
            {
                events += 1;
                if events == 1 {
                    barrier.wait().await;
                }
                if let ConverseStreamOutput::Metadata(m) = event {
                    output_tokens = m.usage().map_or(0, |u| u.output_tokens());
                }
            }
            Ok::<_, String>((events, output_tokens))
        });
    }
    let mut completed = 0;
    while let Some(result) = tasks.join_next().await {
        let (events, output_tokens) = result.unwrap().unwrap();
        assert_eq!(
            events, 8,
            "messageStart, 4 deltas, stop, messageStop, metadata"
        );
        assert_eq!(output_tokens, 4);
        completed += 1;
    }
    assert_eq!(completed, STREAMS);
    // Generations end when their pacing tasks do; wait for the count to settle.
    for _ in 0..200 {
        if emulator.in_flight() == 0 {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(emulator.in_flight(), 0);
}
