from services.common.serve import serve
from services.licensing.app import create_app
from services.licensing.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve("services.licensing", create_app, settings, settings.licensing_port)
