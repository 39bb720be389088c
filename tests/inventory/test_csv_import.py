"""`import_csv`: spec-style files import, everything is validated first, and bad files write nothing."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.imports import generated_code
from inventory.models import Article, Movement, Stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def csv_file(tmp_path):
    def write(text, name="datos.csv", encoding="utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
        return path

    return write


def run(path, *args):
    call_command("import_csv", str(path), *args)


def test_the_spec_file_imports_with_generated_stable_codes(csv_file, capsys):
    path = csv_file("nombre,material,diametro\nCaño PVC,PVC,110\nCaño PEAD,PEAD,63.5\n")
    run(path, "--tipo", "articulos")
    assert Article.objects.count() == 2
    pvc = Article.objects.get(name="Caño PVC")
    assert pvc.code == generated_code("Caño PVC", "PVC", Decimal("110"))
    assert pvc.diameter_mm == Decimal("110.00")
    assert "2 creadas" in capsys.readouterr().out


def test_reimporting_the_same_file_updates_instead_of_duplicating(csv_file, capsys):
    path = csv_file("codigo,nombre,material,diametro\nA1,Uno,PVC,10\nA2,Dos,PVC,20\n")
    run(path, "--tipo", "articulos")
    capsys.readouterr()
    run(path, "--tipo", "articulos")
    assert Article.objects.count() == 2
    assert "0 creadas, 0 actualizadas, 2 sin cambios" in capsys.readouterr().out
    run(csv_file("codigo,nombre,material,diametro\nA1,Uno nuevo,PVC,10\n", "b.csv"), "--tipo", "articulos")
    assert Article.objects.get(code="A1").name == "Uno nuevo"
    assert "1 actualizadas" in capsys.readouterr().out


def test_headers_match_ignoring_case_accents_and_a_bom_with_decimal_commas_and_semicolons(csv_file):
    text = "\ufeffCÓDIGO;Nombre;Material;Diámetro;Stock Mínimo;Categoría;Unidad\nX-1;Fibra;vidrio;12,5;1.234,5;FO;m\n"
    run(csv_file(text), "--tipo", "articulos")
    article = Article.objects.get(code="X-1")
    assert article.diameter_mm == Decimal("12.50")
    assert article.min_stock == Decimal("1234.5")
    assert (article.category, article.unit) == ("FO", "m")


def test_latin1_files_import_with_the_encoding_option(csv_file):
    path = csv_file("nombre,material,diametro\nCaño,PVC,1\n", encoding="latin-1")
    with pytest.raises(CommandError, match="latin-1"):
        run(path, "--tipo", "articulos")
    run(path, "--tipo", "articulos", "--encoding", "latin-1")
    assert Article.objects.get().name == "Caño"


def test_any_invalid_row_aborts_everything_and_writes_an_error_report(csv_file, capsys):
    path = csv_file("codigo,nombre,material,diametro\nA1,Uno,PVC,10\nA2,,PVC,abc\nA1,Otra vez,PVC,1\n")
    with pytest.raises(CommandError, match="abortada"):
        run(path, "--tipo", "articulos")
    assert not Article.objects.exists()
    report = path.with_name("datos.errores.csv").read_text().splitlines()
    assert report[0] == "linea,columna,valor,mensaje"
    assert "3,nombre,,Valor obligatorio." in report
    assert "3,diametro,abc,No es un número válido." in report
    assert any(line.startswith("4,codigo,A1,Código duplicado") for line in report)
    assert "datos.errores.csv" in capsys.readouterr().err


def test_skip_writes_the_valid_rows_and_reports_the_rest(csv_file, capsys):
    path = csv_file("codigo,nombre,material,diametro\nA1,Uno,PVC,10\nA2,Dos,PVC,-5\n")
    run(path, "--tipo", "articulos", "--on-error", "skip")
    assert list(Article.objects.values_list("code", flat=True)) == ["A1"]
    assert "1 inválidas" in capsys.readouterr().out


def test_dry_run_validates_and_writes_nothing(csv_file, capsys):
    run(csv_file("nombre,material,diametro\nUno,PVC,1\n"), "--tipo", "articulos", "--dry-run")
    assert not Article.objects.exists()
    assert "dry-run" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "vacío"),
        ("nombre,material\nUno,PVC\n", "Faltan columnas obligatorias: diametro"),
        ("nombre,material,diametro\n", "no tiene filas"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binario"),
    ],
)
def test_unusable_files_get_a_clear_error(csv_file, content, message):
    with pytest.raises(CommandError, match=message):
        run(csv_file(content), "--tipo", "articulos")
    assert not Article.objects.exists()


def test_stock_import_sets_quantities_through_approved_ajustes(csv_file, onu, central, capsys):
    run(csv_file("codigo,deposito,cantidad\nonu-hg8145,central,12,5\n".replace("12,5", '"12,5"')), "--tipo", "stock")
    assert Stock.objects.get(article=onu, warehouse=central).quantity == Decimal("12.5")
    movement = Movement.objects.get()
    assert (movement.kind, movement.status, movement.reference) == ("ajuste", "aprobado", "import_csv")
    run(csv_file("codigo,deposito,cantidad\nONU-HG8145,CENTRAL,2\n", "b.csv"), "--tipo", "stock")
    assert Stock.objects.get(article=onu, warehouse=central).quantity == 2
    assert Movement.objects.filter(direction=-1).count() == 1


def test_stock_rows_with_unknown_codes_abort_the_whole_file(csv_file, onu, central):
    path = csv_file("codigo,deposito,cantidad\nONU-HG8145,CENTRAL,5\nNADA,CENTRAL,1\nONU-HG8145,LUNA,1\n")
    with pytest.raises(CommandError):
        run(path, "--tipo", "stock")
    assert not Stock.objects.exists()
    report = path.with_name("datos.errores.csv").read_text()
    assert "Artículo inexistente" in report and "Depósito inexistente" in report


def test_a_negative_stock_quantity_is_refused(csv_file, onu, central):
    with pytest.raises(CommandError):
        run(csv_file("codigo,deposito,cantidad\nONU-HG8145,CENTRAL,-1\n"), "--tipo", "stock")
    assert not Stock.objects.exists()


def test_formula_like_values_are_neutralised_in_the_error_report(csv_file):
    path = csv_file("nombre,material,diametro\n=HYPERLINK(1),PVC,=1+1\n")
    with pytest.raises(CommandError):
        run(path, "--tipo", "articulos")
    assert "'=1+1" in path.with_name("datos.errores.csv").read_text()
