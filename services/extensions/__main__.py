from services.common.serve import serve
from services.extensions.app import create_app
from services.extensions.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve("services.extensions", create_app, settings, settings.extensions_port)
