"""The web UI in parts: storage (uploads, session folders, artefact names), handlers (what each button
does), render (chat messages, progress, citations), strip (the whole-video affect strip), assets (CSS,
page script) and layout (the Gradio Blocks, launch, main). `ui.app` re-exports the public names."""
