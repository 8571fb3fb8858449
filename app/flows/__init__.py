"""Page workflows as plain Python state machines (no Streamlit, no database).

Each flow keeps its state in a mutable mapping it is given: ``st.session_state`` in
the app, a plain ``dict`` in tests.
"""
